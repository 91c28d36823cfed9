"""Knows nothing of dltui: prints metrics the way scripts do."""

import sys
import time

lr = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
for epoch in range(1, epochs + 1):
    time.sleep(delay)
    print(f"\x1b[32mINFO\x1b[0m: epoch {epoch}/{epochs} loss={1 / (epoch * lr + 1):.4f} "
          f"acc: {min(1.0, 0.5 + epoch * lr / 10):.3f}", flush=True)
print("done")
