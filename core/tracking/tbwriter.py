"""TensorBoard event files, written with TensorBoard's own record writer.

Imported only by processes that log (training code and the run wrapper), never
by the dashboard: protobuf costs start-up time.
"""

from __future__ import annotations

import time
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.plugins.text import plugin_data_pb2 as text_plugin_data_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

# TensorBoard's own default is 120 s; a curve should show within seconds.
FLUSH_SECONDS = 2.0


class EventWriter:
    """Scalars, images and text to one run's `tb/` directory."""

    def __init__(self, logdir: Path) -> None:
        logdir.mkdir(parents=True, exist_ok=True)
        self._writer = EventFileWriter(str(logdir), max_queue_size=100, flush_secs=FLUSH_SECONDS)

    def _add(self, value: summary_pb2.Summary.Value, step: int, when: float | None) -> None:
        event = event_pb2.Event(wall_time=when or time.time(), step=int(step),
                                summary=summary_pb2.Summary(value=[value]))
        self._writer.add_event(event)

    def scalars(self, values: dict[str, float], step: int, when: float | None = None) -> None:
        event = event_pb2.Event(
            wall_time=when or time.time(), step=int(step),
            summary=summary_pb2.Summary(value=[
                summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
                for tag, value in values.items()
            ]),
        )
        self._writer.add_event(event)

    def image(self, tag: str, png: bytes, height: int, width: int, channels: int,
              step: int) -> None:
        image = summary_pb2.Summary.Image(height=height, width=width, colorspace=channels,
                                          encoded_image_string=png)
        self._add(summary_pb2.Summary.Value(tag=tag, image=image), step, None)

    def text(self, tag: str, text: str, step: int) -> None:
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name="text",
                content=text_plugin_data_pb2.TextPluginData(version=0).SerializeToString(),
            )
        )
        tensor = tensor_pb2.TensorProto(
            dtype="DT_STRING", string_val=[text.encode("utf-8")],
            tensor_shape=tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]),
        )
        self._add(summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor), step, None)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
