"""A run whose accuracy depends on lr and, by a known offset, on its seed: the final
accuracy is 0.97 (lr 0.1) or 0.95 (otherwise) plus 0.000, 0.005, 0.007 for seeds 0, 1, 2."""

import sys

import dltui

args = dict(arg.lstrip("-").split("=", 1) for arg in sys.argv[1:])
lr, seed = float(args["lr"]), int(args["seed"])
final = (0.97 if lr == 0.1 else 0.95) + (0.0, 0.005, 0.007)[seed]
run = dltui.init()
run.log({"acc": round(final - 0.1, 6)}, step=1)
run.log({"acc": round(final, 6)}, step=2)
