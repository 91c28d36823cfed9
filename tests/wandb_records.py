"""Reading a W&B offline run file (`run-ID.wandb`) with W&B's own record schema.

wandb no longer ships a Python reader of its transaction log, only the protobuf
schema of its records; the framing is LevelDB's log format (32 KiB blocks, each
record a CRC, a length and a type), behind a 7-byte `:W&B` header.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

_BLOCK = 32768
_HEADER = struct.Struct("<4sHB")
_RECORD = struct.Struct("<IHB")
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[Any]:
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    ident, magic, _version = _HEADER.unpack_from(data)
    assert ident == b":W&B" and magic == 0xBEE1, "not a W&B run file"
    pos, pending, raw = _HEADER.size, b"", []
    while pos + _RECORD.size <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _RECORD.size:
            pos += left  # the block's tail is padding
            continue
        _crc, length, kind = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        chunk, pos = data[pos:pos + length], pos + length
        if kind == _FULL:
            raw.append(chunk)
        elif kind == _FIRST:
            pending = chunk
        elif kind == _MIDDLE:
            pending += chunk
        elif kind == _LAST:
            raw.append(pending + chunk)
    records = []
    for blob in raw:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(blob)
        records.append(record)
    return records
