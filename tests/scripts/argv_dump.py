"""Writes its argv and selected environment as JSON, to check what the launcher passed."""

import json
import os
import sys

out = os.path.join(os.environ["DLTUI_RUN_DIR"], "artifacts", "argv.json")
with open(out, "w") as handle:
    json.dump({"argv": sys.argv[1:], "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
               "run_dir": os.environ["DLTUI_RUN_DIR"]}, handle)
