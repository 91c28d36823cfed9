"""TensorBoard event files of scalars, images and text, written without TensorBoard's
packages.

An event file is a sequence of TFRecords (a length, its masked CRC-32C, the
data, its masked CRC-32C), each holding one serialized `Event` protocol buffer.
The few fields these events need are encoded here by hand, as protobuf encodes
them (tests compare the bytes): importing protobuf and TensorBoard's writer costs
a process about 20 MB and a few hundred milliseconds, which the run wrapper,
following every run's stream, should not pay.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import socket
import struct
import time
from pathlib import Path
from typing import BinaryIO

FILE_VERSION = b"brain.Event:2"
_counter = itertools.count()


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()
_SMALL = [bytes((value,)) for value in range(0x80)]


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


@functools.lru_cache(maxsize=1024)
def _length_header(size: int) -> bytes:
    """A record's length and its checksum: the events of one run have few sizes."""
    length = struct.pack("<Q", size)
    return length + struct.pack("<I", masked_crc32c(length))


def record(data: bytes) -> bytes:
    """One TFRecord around `data`."""
    return _length_header(len(data)) + data + struct.pack("<I", masked_crc32c(data))


def _varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _SMALL[value]
    value &= 0xFFFFFFFFFFFFFFFF  # a negative int64 is ten bytes, as protobuf writes it
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(tag << 3 | 2) + _varint(len(payload)) + payload


def _int_field(tag: int, value: int) -> bytes:
    """A varint field (wire type 0), left out at its default as proto3 does."""
    return _varint(tag << 3) + _varint(value) if value else b""


def _event(values: list[bytes], step: int, wall_time: float) -> bytes:
    """`Event{wall_time, step, summary{value: [...]}}` of serialized `Summary.Value`s."""
    return (_wall_time(wall_time) + _int_field(2, step)
            + _field(5, b"".join(_field(1, value) for value in values)))


def scalar_event(values: dict[str, float], step: int, wall_time: float) -> bytes:
    """Scalars as `Summary.Value{tag, simple_value}` (in a oneof: written even at 0)."""
    return _event([_scalar_head(tag) + _float32(value) for tag, value in values.items()],
                  step, wall_time)


@functools.lru_cache(maxsize=4096)
def _scalar_head(tag: str) -> bytes:
    """A scalar's `Summary.Value` up to its float: the same for every value of a tag."""
    return _field(1, tag.encode("utf-8")) + b"\x15"


def _float32(value: float) -> bytes:
    """A float as TensorBoard keeps scalars (32 bits): beyond its range, an infinity."""
    try:
        return struct.pack("<f", value)
    except OverflowError:
        return struct.pack("<f", math.copysign(math.inf, value))


def image_event(tag: str, png: bytes, height: int, width: int, channels: int, step: int,
                wall_time: float) -> bytes:
    """One PNG as `Summary.Value{tag, image{height, width, colorspace, encoded_image_string}}`."""
    image = (_int_field(1, height) + _int_field(2, width) + _int_field(3, channels)
             + _field(4, png))
    return _event([_field(1, tag.encode("utf-8")) + _field(4, image)], step, wall_time)


# SummaryMetadata{plugin_data{plugin_name: "text", content: TextPluginData{version: 0}}}:
# the content, all defaults, serializes to nothing.
_TEXT_METADATA = _field(1, _field(1, b"text"))
_DT_STRING = 7


def text_event(tag: str, text: str, step: int, wall_time: float) -> bytes:
    """Text (Markdown) for TensorBoard's text tab: a string tensor of shape [1]."""
    tensor = (_int_field(1, _DT_STRING) + _field(2, _field(2, _int_field(1, 1)))
              + _field(8, text.encode("utf-8")))
    return _event([_field(1, tag.encode("utf-8")) + _field(8, tensor) + _field(9, _TEXT_METADATA)],
                  step, wall_time)


def version_event(wall_time: float) -> bytes:
    """The first event of every file: which event format follows."""
    return _wall_time(wall_time) + _field(3, FILE_VERSION)


def _wall_time(wall_time: float) -> bytes:
    return b"\x09" + struct.pack("<d", wall_time) if wall_time else b""


def _second_after_existing(logdir: Path, now: float) -> int:
    """The second a new event file is named by: now, or after the latest file already in
    `logdir`. TensorBoard reads a folder's files in the order of their names, and two
    files of one second are ordered by host and pid, not by which came first (a run's
    events, then those that `dltui tb` converted after its follower died)."""
    second = int(now)
    for path in logdir.glob("events.out.tfevents.*"):
        named = path.name.split(".")[3]
        if named.isdigit():
            second = max(second, int(named) + 1)
    return second


class EventFile:
    """Appends events to a new `events.out.tfevents.*` file in `logdir`.

    The file is made on the first write, so a run that logs nothing leaves none.
    TensorBoard follows only the last file of a folder while it grows, so a run
    attempt writes one file, from one process."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self._file: BinaryIO | None = None
        self.events = 0

    def _stream(self) -> BinaryIO:
        if self._file is None:
            self.logdir.mkdir(parents=True, exist_ok=True)
            now = time.time()
            name = (f"events.out.tfevents.{_second_after_existing(self.logdir, now):010d}."
                    f"{socket.gethostname()}.{os.getpid()}.{next(_counter)}")
            self._file = open(self.logdir / name, "ab")  # noqa: SIM115
            self._file.write(record(version_event(now)))
        return self._file

    def write(self, event: bytes) -> None:
        """One serialized event (`scalar_event`, `image_event`, `text_event`)."""
        self._stream().write(record(event))
        self.events += 1

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
