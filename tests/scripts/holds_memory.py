"""Holds MB_PARENT of memory, starts a child that holds MB_CHILD and spins a core, and
logs a loss per step: a process tree of known size for the system sampler."""

import subprocess
import sys
import time

import dltui

if len(sys.argv) > 1 and sys.argv[1] == "child":
    held = bytearray(b"\x01") * (int(sys.argv[2]) << 20)  # every page written: resident
    until = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < until:
        pass  # a busy core
    sys.exit(0)

run = dltui.init()
mb_parent, mb_child = int(run.params["mb_parent"]), int(run.params["mb_child"])
seconds, loss = float(run.params["seconds"]), run.params.get("loss", 1.0)
held = bytearray(b"\x01") * (mb_parent << 20)
child = subprocess.Popen([sys.executable, __file__, "child", str(mb_child), str(seconds)])
steps = 4
for step in range(1, steps + 1):
    time.sleep(seconds / steps)
    run.log({"train_loss": float(loss) / step}, step=step)
child.wait()
