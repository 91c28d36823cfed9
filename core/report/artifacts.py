"""A run's artifacts as report Markdown: its images, its own Markdown files, its tables.

What a task saves under `artifacts/` is shown generically:
- images (`*.png`, `*.jpg`, ...) are copied next to the report and shown;
- Markdown files (example captions, per-class IoU tables) are inlined, their
  headings nested under the run's section and their relative image links
  pointed at the copied images (an image a Markdown file shows is not shown
  twice);
- a JSON object of numbers (per-class IoU) without a Markdown twin becomes a table;
- anything else (predictions, checkpoints) is listed by name and size.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from dltui.store.runs import RunInfo
from dltui.tracking.stdout_metrics import strip_ansi
from dltui.tracking.stream import is_number
from dltui.views.numbers import format_value

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}
MAX_FILES = 500  # a run that saved thousands of files gets the first ones
MAX_IMAGES = 24  # shown per run
MAX_IMAGE_BYTES = 5 << 20
MAX_MARKDOWN_BYTES = 200_000
MAX_TABLE_ROWS = 200
HEADING_SHIFT = 3  # an artifact's "# Title" becomes "#### Title", under "### run"
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^()\s<>]+)>?(\s+\"[^\"]*\")?\s*\)")
_HTML_SRC = re.compile(r"(<img\b[^>]*?\bsrc=)([\"'])(.*?)\2", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def log_tail(path: Path, lines: int = 15, max_bytes: int = 8192) -> str:
    """The last lines of a log, without colour codes or tqdm redraws."""
    try:
        with open(path, "rb") as src:
            src.seek(0, 2)
            size = src.tell()
            src.seek(max(0, size - max_bytes))
            text = src.read().decode("utf-8", "replace")
    except OSError:
        return ""
    raw = text.splitlines()
    if size > max_bytes and raw:
        raw = raw[1:]  # the first line was cut by the seek
    kept = [strip_ansi(line.rsplit("\r", 1)[-1]).rstrip() for line in raw]
    return "\n".join([line for line in kept if line][-lines:])


def pretty(stem: str) -> str:
    text = re.sub(r"[_\-]+", " ", stem).strip()
    return text[:1].upper() + text[1:] if text else stem


def _md_text(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


class _Copier:
    """Copies a run's artifact files into the report's files, once each."""

    def __init__(self, info: RunInfo, files: dict[str, bytes]) -> None:
        self.root = info.dir.artifacts_dir.resolve()
        self.prefix = f"artifacts/{info.experiment}/{info.run_id}"
        self.files = files
        self.used: set[Path] = set()

    def inside(self, path: Path) -> Path | None:
        try:
            resolved = path.resolve()
        except OSError:
            return None
        if self.root not in resolved.parents or not resolved.is_file():
            return None
        return resolved

    def copy(self, path: Path) -> str | None:
        """The report-relative link of an image inside the artifacts, copied; None if it
        is not one or is too large."""
        found = self.inside(path)
        if found is None or found.suffix.lower() not in IMAGE_TYPES:
            return None
        if found.stat().st_size > MAX_IMAGE_BYTES:
            return None
        rel = f"{self.prefix}/{found.relative_to(self.root).as_posix()}"
        if rel not in self.files:
            self.files[rel] = found.read_bytes()
        self.used.add(found)
        return quote(rel)


def _embed_markdown(text: str, source: Path, copier: _Copier) -> str:
    """A run's Markdown file ready to inline: headings nested, relative image links
    pointing at the copies, links to files the report does not carry made plain text."""
    def link(match: re.Match[str]) -> str:
        bang, label, target, title = match.groups()
        if _SCHEME.match(target) or target.startswith("#"):
            return match.group(0)
        copied = copier.copy(source.parent / unquote(target)) if bang else None
        if copied:
            return f"![{label}]({copied}{title or ''})"
        return label or Path(unquote(target)).name

    def html_src(match: re.Match[str]) -> str:
        target = match.group(3)
        if _SCHEME.match(target):
            return match.group(0)
        copied = copier.copy(source.parent / unquote(target))
        return f"{match.group(1)}{match.group(2)}{copied or ''}{match.group(2)}"

    out = []
    fence: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        opener = re.match(r"(`{3,}|~{3,})", stripped)
        if opener and (fence is None or opener.group(1).startswith(fence)):
            fence = None if fence else opener.group(1)
            out.append(line)
            continue
        if fence:
            out.append(line)
            continue
        heading = re.match(r"^(#{1,6})(\s.*)$", line)
        if heading:
            line = "#" * min(6, len(heading.group(1)) + HEADING_SHIFT) + heading.group(2)
        out.append(_HTML_SRC.sub(html_src, _LINK.sub(link, line)))
    return "\n".join(out).strip()


def _number_table(data: dict[str, Any]) -> str | None:
    """A two-column Markdown table of a JSON object's numbers; None if it holds none."""
    rows = [(k, v) for k, v in data.items() if is_number(v)][:MAX_TABLE_ROWS]
    if not rows:
        return None
    lines = ["| Name | Value |", "| --- | ---: |"]
    lines += [f"| {_md_text(str(k))} | {format_value(float(v))} |" for k, v in rows]
    return "\n".join(lines)


def _json_blocks(path: Path, heading: str) -> list[str]:
    """A JSON object of numbers as a table, and each nested object of numbers as its own."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    if not isinstance(data, dict):
        return []
    blocks = []
    top = _number_table(data)
    if top:
        blocks.append(top)
    for key, value in data.items():
        if isinstance(value, dict):
            nested = _number_table(value)
            if nested:
                blocks += [f"**{_md_text(pretty(str(key)))}**", nested]
    return [heading, *blocks] if blocks else []


def artifact_markdown(info: RunInfo, files: dict[str, bytes]) -> list[str]:
    """Markdown blocks of a run's artifacts; copied images are added to `files`."""
    root = info.dir.artifacts_dir
    if not root.is_dir():
        return []
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        found.append(path)
        if len(found) >= MAX_FILES:
            break
    copier = _Copier(info, files)
    documents: list[str] = []
    shown: set[Path] = set()
    for path in (p for p in found if p.suffix.lower() == ".md"):
        if path.stat().st_size > MAX_MARKDOWN_BYTES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        embedded = _embed_markdown(text, path, copier)
        shown.add(path)
        if embedded.startswith("#"):
            documents.append(embedded)  # its own heading names it
        elif embedded:
            documents += [f"#### {_md_text(pretty(path.stem))}", embedded]
    stems = {p.with_suffix("") for p in shown}
    tables: list[str] = []
    for path in (p for p in found if p.suffix.lower() == ".json"):
        if path.with_suffix("") in stems:
            shown.add(path)  # its Markdown twin says the same, formatted by the task
            continue
        blocks = _json_blocks(path, f"#### {_md_text(pretty(path.stem))}")
        if blocks:
            shown.add(path)
            tables += blocks
    images: list[str] = []
    too_large: list[Path] = []
    skipped = 0
    for path in (p for p in found if p.suffix.lower() in IMAGE_TYPES):
        if path.resolve() in copier.used:
            continue
        if len(images) // 2 >= MAX_IMAGES:
            skipped += 1
            continue
        link = copier.copy(path)
        if link is None:
            too_large.append(path)
            continue
        name = path.relative_to(root).with_suffix("").as_posix()
        images += [f"#### {_md_text(pretty(name))}", f"![{_md_text(name)}]({link})"]
    if skipped:
        images.append(f"*{skipped} more {'image' if skipped == 1 else 'images'} in the run's "
                      "artifacts folder.*")
    others = too_large + [p for p in found if p not in shown
                          and p.suffix.lower() not in IMAGE_TYPES]
    listing = []
    if others:
        listing.append("Other artifacts (in the run folder, not copied): " + ", ".join(
            f"`{p.relative_to(root).as_posix()}` ({_size(p.stat().st_size)})"
            for p in others[:20]) + (f", and {len(others) - 20} more" if len(others) > 20
                                     else "") + ".")
    return images + documents + tables + listing
