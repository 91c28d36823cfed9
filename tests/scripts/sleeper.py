"""Logs a step, then sleeps until stopped; writes its pid so tests can kill it."""

import os
import pathlib
import sys
import time

pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
print("epoch 1 loss=1.0", flush=True)
if len(sys.argv) > 2 and sys.argv[2] == "ignore-term":
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.1)
