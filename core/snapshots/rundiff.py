"""`dltui diff RUN_A RUN_B`: what differs between two runs: params, final metrics, the
code (a unified diff between their snapshots) and the environment they ran in."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from dltui.snapshots.environment import read_environment
from dltui.snapshots.store import FILES_DIR, read_snapshot, snapshot_path
from dltui.store.runs import RunInfo
from dltui.system.figures import is_system_metric

_MAX_TEXT_BYTES = 1 << 20


def _final_metrics(info: RunInfo) -> dict[str, Any]:
    # What the run computed; what the machine did (`sys/`) differs from run to run anyway.
    metrics = {name: values.get("last") for name, values in info.status.metrics.items()
               if isinstance(values, dict) and not is_system_metric(name)}
    metrics.update(info.summary())
    return metrics


def _changes(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]]:
    """{key: [value in a, value in b]} for every key whose values differ (None: absent)."""
    return {key: [a.get(key), b.get(key)] for key in sorted({*a, *b}) if a.get(key) != b.get(key)}


def code_diff(a: RunInfo, b: RunInfo) -> dict[str, Any]:
    """The unified diff between the two runs' snapshots, file by file."""
    root = a.dir.runs_root
    ids = a.spec.snapshot, b.spec.snapshot
    found: dict[str, Any] = {"snapshots": list(ids), "files": {}, "text": ""}
    if ids[0] == ids[1]:
        found["same"] = True
        return found
    metas = [read_snapshot(root, i) if i else None for i in ids]
    for info, snapshot_id, meta in zip((a, b), ids, metas, strict=True):
        if snapshot_id is None:
            found.setdefault("notes", []).append(
                f"{info.ref} has no code snapshot" + (f" (built-in task {info.spec.task!r})"
                                                      if info.spec.task else ""))
        elif meta is None:
            found.setdefault("notes", []).append(f"{info.ref}'s snapshot {snapshot_id} is gone")
    files_a = (metas[0] or {}).get("files", {})
    files_b = (metas[1] or {}).get("files", {})
    lines: list[str] = []
    for name in sorted({*files_a, *files_b}):
        sha_a = (files_a.get(name) or {}).get("sha256")
        sha_b = (files_b.get(name) or {}).get("sha256")
        if sha_a == sha_b:
            continue
        found["files"][name] = ("added" if sha_a is None else "removed" if sha_b is None
                                else "changed")
        text_a = _text(root, ids[0], name) if sha_a else []
        text_b = _text(root, ids[1], name) if sha_b else []
        if text_a is None or text_b is None:
            lines.append(f"Binary files a/{name} and b/{name} differ\n")
            continue
        lines.extend(difflib.unified_diff(text_a, text_b, f"a/{name}" if sha_a else "/dev/null",
                                          f"b/{name}" if sha_b else "/dev/null"))
    found["text"] = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return found


def _text(root: Path, snapshot_id: str | None, name: str) -> list[str] | None:
    if snapshot_id is None:
        return []
    path = snapshot_path(root, snapshot_id) / FILES_DIR / name
    try:
        data = path.read_bytes()[:_MAX_TEXT_BYTES]
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None
    except OSError:
        return []


def environment_diff(a: RunInfo, b: RunInfo) -> dict[str, Any]:
    env_a, env_b = read_environment(a.dir.path), read_environment(b.dir.path)
    found: dict[str, Any] = {}
    if not env_a or not env_b:
        missing = [info.ref for info, env in ((a, env_a), (b, env_b)) if not env]
        found["notes"] = [f"{ref} has no environment record (it has not started)"
                          for ref in missing]
    scalars = ("python", "implementation", "executable", "platform", "host", "dltui", "driver",
               "cuda_visible_devices")
    found["changed"] = _changes({k: env_a.get(k) for k in scalars},
                                {k: env_b.get(k) for k in scalars})
    found["torch"] = _changes(env_a.get("torch") or {}, env_b.get("torch") or {})
    found["gpus"] = ([[g.get("name") for g in env_a.get("gpus", [])],
                      [g.get("name") for g in env_b.get("gpus", [])]]
                     if env_a.get("gpus") != env_b.get("gpus") else None)
    found["packages"] = _changes(env_a.get("packages") or {}, env_b.get("packages") or {})
    names_a, names_b = set(env_a.get("env_names", [])), set(env_b.get("env_names", []))
    found["env_names"] = {"only_a": sorted(names_a - names_b), "only_b": sorted(names_b - names_a)}
    return found


def run_diff(a: RunInfo, b: RunInfo) -> dict[str, Any]:
    """Everything `dltui diff` shows, as plain data."""
    return {
        "a": a.ref, "b": b.ref,
        "params": _changes(a.spec.params, b.spec.params),
        "metrics": _changes(_final_metrics(a), _final_metrics(b)),
        "code": code_diff(a, b),
        "environment": environment_diff(a, b),
    }


def _pairs(changes: dict[str, list[Any]], indent: str = "  ") -> list[str]:
    return [f"{indent}{key}: {_shown(va)} -> {_shown(vb)}" for key, (va, vb) in changes.items()]


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


def diff_text(diff: dict[str, Any]) -> str:
    """The diff as a person reads it: sections, `a -> b` lines, the code's unified diff."""
    out = [f"a: {diff['a']}", f"b: {diff['b']}", "", "params:"]
    out += _pairs(diff["params"]) or ["  the same"]
    out += ["", "final metrics:"]
    out += _pairs(diff["metrics"]) or ["  the same"]
    code = diff["code"]
    out += ["", "code:"]
    out += [f"  {note}" for note in code.get("notes", [])]
    if code.get("same"):
        out.append(f"  the same snapshot ({code['snapshots'][0] or 'none'})")
    elif not code["files"]:
        out.append("  no file differs")
    else:
        out += [f"  {how}: {name}" for name, how in code["files"].items()]
    env = diff["environment"]
    out += ["", "environment:"]
    out += [f"  {note}" for note in env.get("notes", [])]
    out += _pairs(env["changed"])
    out += _pairs(env["torch"], "  torch ")
    if env["gpus"]:
        out.append(f"  gpus: {env['gpus'][0] or '(none)'} -> {env['gpus'][1] or '(none)'}")
    if env["packages"]:
        out.append(f"  packages ({len(env['packages'])} differ):")
        out += _pairs(env["packages"], "    ")
    names = env["env_names"]
    if names["only_a"] or names["only_b"]:
        out.append(f"  environment variables only in a: {', '.join(names['only_a']) or '-'}; "
                   f"only in b: {', '.join(names['only_b']) or '-'}")
    if len(out) and out[-1] == "environment:":
        out.append("  the same")
    text = "\n".join(out) + "\n"
    if code["text"]:
        text += "\n" + code["text"]
    return text
