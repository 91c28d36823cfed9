"""The run directory: its files, its status, finding runs."""
