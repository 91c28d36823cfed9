"""How the integrations attach: the bootstrap on a run's PYTHONPATH (chaining to the
script's own sitecustomize), the switch in the manifest, and patches that never break
the framework they patch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import Project, records, script
from dltui.integrations import hooks
from dltui.integrations.bootstrap_path import BOOTSTRAP_DIR, with_bootstrap

PY = sys.executable


def test_autolog_must_be_true_or_false(project: Project) -> None:
    project.write(f"""
[experiments.hf]
command = ["{PY}", "{script('prints.py')}"]
autolog = "no"
""")
    done = project.cli("run", "hf")
    assert done.returncode == 2
    assert "autolog must be true or false" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_the_scripts_own_sitecustomize_still_runs(project: Project, tmp_path: Path) -> None:
    own = tmp_path / "own_site"
    own.mkdir()
    (own / "sitecustomize.py").write_text(
        "import os\nopen(os.environ['MARK_FILE'], 'w').write('ran')\n")
    project.write(f"""
[experiments.tb]
command = ["{PY}", "{script('summary_writer.py')}"]
env = {{ PYTHONPATH = "{own}", MARK_FILE = "{tmp_path / 'mark'}" }}
""")
    project.cli("run", "tb", check=True, timeout=300)
    assert (tmp_path / "mark").read_text() == "ran"
    (run,) = project.run_paths("tb")
    rows = records(run)
    assert sum("loss" in r for r in rows) == 10  # and the integration attached too


def test_bootstrap_goes_first_on_the_path_once() -> None:
    assert with_bootstrap(None) == str(BOOTSTRAP_DIR)
    assert with_bootstrap(f"/a:{BOOTSTRAP_DIR}:/b") == f"{BOOTSTRAP_DIR}:/a:/b"


def test_a_failing_patch_leaves_the_framework_working(tmp_path: Path) -> None:
    """A framework module the integration cannot patch imports and works as before, and the
    log says so once."""
    package = tmp_path / "toyframework"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "trainer.py").write_text("class Trainer:\n    def fit(self):\n        return 42\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from dltui.integrations import hooks

        def patch(module):
            def wrap(original):
                def fit(self):
                    hooks.guarded("toyframework", lambda: 1 / 0)
                    return original(self)
                return fit
            hooks.patch_method(module.Trainer, "fit", wrap)
            raise AttributeError("Trainer has no callback_handler")

        hooks.watch("toyframework.trainer", "toyframework", patch)
        from toyframework.trainer import Trainer
        print(Trainer().fit(), Trainer().fit())
    """)
    done = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["42", "42"]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("dltui:")]
    assert len(warnings) == 1 and "toyframework integration stopped" in warnings[0]


def test_framework_versions() -> None:
    assert hooks.version_supported("5.24.0", (4, 40), (6,))
    assert hooks.version_supported("4.40.0.dev0", (4, 40), (6,))
    assert not hooks.version_supported("6.0.0", (4, 40), (6,))
    assert not hooks.version_supported("4.39.3", (4, 40), (6,))
    assert hooks.version_supported("2.6.0rc1", (2, 0), (3,))
    assert not hooks.version_supported("unknown", (2, 0), (3,))
