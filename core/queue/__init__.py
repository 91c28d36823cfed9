"""Launching, the queue and its supervisor, the run wrapper, stopping."""
