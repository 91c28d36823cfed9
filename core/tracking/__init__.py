"""The metrics stream: the tracking API, its writer and reader, stdout metrics."""
