"""Knows nothing of dltui: prints a long line, binary noise and two metric lines."""

import random
import sys

out = sys.stdout.buffer
out.write(b"x" * 20000 + b" loss=9.9\n")  # too long to be a metrics line: copied only
out.write(random.Random(0).randbytes(4 << 20))
out.write(b"\nepoch 1 loss=0.5\n")
out.write(random.Random(1).randbytes(1 << 20))
out.write(b"\nepoch 2 loss=0.25\n")
out.flush()
