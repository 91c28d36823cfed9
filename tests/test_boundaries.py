"""The boundaries that keep start-up fast: core never loads a UI package, nothing the
dashboard or CLI loads pulls in torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import dltui

CORE = Path(dltui.__file__).parent
UI_PACKAGES = ("textual", "rich", "typer", "click")


def core_modules() -> list[str]:
    names = ["dltui"]
    for info in pkgutil.walk_packages([str(CORE)], prefix="dltui."):
        # Training tasks import torch by design; they run only in child processes.
        if info.name.startswith(("dltui.tasks.", "dltui.tui")) and info.name != \
                "dltui.tasks.config":
            continue
        names.append(info.name)
    return names


def loaded_after(code: str) -> set[str]:
    listing = "\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code + listing],
                         capture_output=True, text=True, check=True).stdout
    return {line.split(".")[0] for line in out.splitlines()}


def test_core_never_imports_ui_or_torch() -> None:
    modules = core_modules()
    assert "dltui.manifest" in modules and "dltui.store.runs" in modules
    # What any module imports, importing them all imports too: one fresh interpreter
    # tells whether one of them does; then one per module names which.
    bad = loaded_after("".join(f"import {name}\n" for name in modules)) & \
        {*UI_PACKAGES, "torch"}
    if bad:
        culprits = {name: loaded_after(f"import {name}") & bad for name in modules}
        assert not bad, {name: found for name, found in culprits.items() if found}


def test_cli_help_does_not_import_torch() -> None:
    code = ("import sys\nfrom dltui.tui import cli\n"
            "sys.argv = ['dltui', '--help']\n"
            "try:\n    cli.main()\nexcept SystemExit:\n    pass\n")
    assert "torch" not in loaded_after(code)
