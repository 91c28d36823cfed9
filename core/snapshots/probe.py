"""What one Python interpreter has installed, printed as JSON; no import of torch.

Runs inside the dltui process (`describe_python()`) or, for a run whose command uses
another interpreter, as `that-python probe.py`: it imports nothing of dltui.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import sys
from typing import Any


def _torch_build() -> dict[str, Any]:
    """torch's version, CUDA and cuDNN, from its files and package metadata."""
    found: dict[str, Any] = {}
    try:
        spec = importlib.util.find_spec("torch")  # locates the package, imports nothing
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return found
    version_file = os.path.join(list(spec.submodule_search_locations)[0], "version.py")
    try:
        with open(version_file, encoding="utf-8") as src:
            text = src.read()
    except OSError:
        return found
    for key, name in (("__version__", "version"), ("cuda", "cuda"), ("hip", "hip")):
        match = re.search(rf"^{key}\s*(?::\s*[^=]+)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
        found[name] = match.group(1) if match else None
    return found


def describe_python() -> dict[str, Any]:
    packages = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in packages:
            packages[name.lower()] = dist.version
    torch = _torch_build()
    if torch:
        cudnn = next((v for k, v in packages.items() if k.startswith("nvidia-cudnn")), None)
        torch["cudnn"] = cudnn
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "platform": platform.platform(),
        "packages": dict(sorted(packages.items())),
        "torch": torch or None,
    }


if __name__ == "__main__":
    json.dump(describe_python(), sys.stdout)
