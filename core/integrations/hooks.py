"""Attaching to frameworks as they are imported, and never breaking them.

`install()` puts a finder on `sys.meta_path` that notices when a watched module
(a Trainer's, Keras', a SummaryWriter's) is executed and then patches it; nothing
is imported ahead of the script, so a framework the script never imports costs
nothing. Every patch is safe in mlflow's sense (`safe_patch`): the original
always runs, and when dltui's part fails the framework goes on without it and
the run's log gets one line saying so.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

PATCHED = "__dltui_patched__"

_warned: set[str] = set()
_broken: set[str] = set()  # frameworks whose integration failed once: off for the run
_lock = threading.Lock()


def warn_once(framework: str, message: str) -> None:
    """One line in the run's log (the child's stderr), once per framework."""
    with _lock:
        if framework in _warned:
            return
        _warned.add(framework)
    print(f"dltui: {message}", file=sys.stderr, flush=True)


def guarded(framework: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run dltui's part of a patched call; a failure turns the framework's integration off
    (its values are then read from the output) instead of reaching the script."""
    if framework in _broken:
        return None
    try:
        return action(*args, **kwargs)
    except Exception as err:  # the user's training never dies of the tracker
        _broken.add(framework)
        warn_once(framework, f"the {framework} integration stopped ({type(err).__name__}: "
                             f"{err}); its values are read from the output instead")
        return None


def is_broken(framework: str) -> bool:
    return framework in _broken


def patch_method(owner: type, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]],
                 ) -> None:
    """Replace `owner.name` by `wrap(original)` once (a second patch is a no-op)."""
    original = owner.__dict__.get(name) or getattr(owner, name)
    if getattr(original, PATCHED, False):
        return
    wrapper = functools.wraps(original)(wrap(original))
    setattr(wrapper, PATCHED, True)
    setattr(owner, name, wrapper)


def known_version(label: str, distribution: str, lowest: Sequence[int], below: Sequence[int],
                  *, values: str = "its values") -> bool:
    """Whether the installed `distribution` is a version these hooks were made for; else
    one warning line in the run's log, and the values are read from the output."""
    from importlib import metadata  # at patch time: 30 ms a start otherwise

    version = metadata.version(distribution)
    if version_supported(version, lowest, below):
        return True
    span = f"{'.'.join(map(str, lowest))} up to, not including, {'.'.join(map(str, below))}"
    warn_once(label, f"{distribution} {version} is not one dltui knows ({span}); {values} "
                     "are read from the output")
    return False


def version_supported(version: str, lowest: Sequence[int], below: Sequence[int]) -> bool:
    """Whether `version` ("4.57.1", "2.6.0rc1") is at least `lowest` and under `below`."""
    numbers = []
    for part in version.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        numbers.append(int(digits))
    if not numbers:
        return False
    return tuple(lowest) <= tuple(numbers) < tuple(below)


# Plain classes, not importlib.abc's: these load at every run's start-up, and the import
# system needs only the methods.
class _Loader:
    """The module's own loader, then the patch."""

    def __init__(self, loader: Any, after: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._after = after

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._after(module)

    def __getattr__(self, name: str) -> Any:  # resources, get_source, is_package...
        return getattr(self._loader, name)


class _WatchImports:
    def __init__(self) -> None:
        self.hooks: dict[str, Callable[[ModuleType], None]] = {}
        self._finding: set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: Any = None,
                  ) -> ModuleSpec | None:
        hook = self.hooks.get(fullname)
        if hook is None or fullname in self._finding:
            return None
        self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        except (ImportError, ValueError):
            return None
        finally:
            self._finding.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader, hook)  # type: ignore[assignment]
        return spec


_finder: _WatchImports | None = None


def watch(module_name: str, framework: str, hook: Callable[[ModuleType], None]) -> None:
    """Call `hook(module)` once module `module_name` is imported (now, if it already is),
    guarded as `framework`'s integration."""
    global _finder
    if _finder is None:
        _finder = _WatchImports()
        sys.meta_path.insert(0, _finder)

    def safe(module: ModuleType) -> None:
        guarded(framework, hook, module)

    _finder.hooks[module_name] = safe
    module = sys.modules.get(module_name)
    if module is not None:
        safe(module)
