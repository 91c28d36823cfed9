"""dltui's bootstrap in a run's interpreter: `dltui run` puts this folder first on the
script's PYTHONPATH, so Python imports this file at start-up, before the script.

It turns on the framework integrations (`dltui.integrations.autolog`) and then
imports the `sitecustomize` this one hides, if there is one, as Python would have.
Nothing here may stop the script: a failure is one line on stderr (the run's log).
"""

import os
import sys


def _autolog() -> None:
    if not os.environ.get("DLTUI_RUN_DIR") or os.environ.get("DLTUI_AUTOLOG", "1") == "0":
        return
    try:
        from dltui.integrations import autolog
    except ImportError:
        return  # an interpreter without dltui: the run's output is still read
    try:
        autolog()
    except Exception as err:
        print(f"dltui: framework integrations are off ({type(err).__name__}: {err})",
              file=sys.stderr, flush=True)


def _chain() -> None:
    """Import the next `sitecustomize` on the path (the one this file stands in front of)."""
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        import importlib

        importlib.import_module("sitecustomize")
    except ModuleNotFoundError as err:
        if err.name != "sitecustomize":
            raise
        if ours is not None:
            sys.modules["sitecustomize"] = ours
    finally:
        sys.path[:] = saved


_autolog()
_chain()
