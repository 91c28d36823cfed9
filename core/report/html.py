"""A report as one self-contained HTML file: the same Markdown, converted, every image
inlined as a base64 data URI, a few lines of CSS, nothing fetched from anywhere."""

from __future__ import annotations

import base64
import html
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote

from dltui.errors import UserError
from dltui.report.artifacts import IMAGE_TYPES

if TYPE_CHECKING:
    from dltui.report.model import Report

CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       max-width: 1040px; margin: 2em auto; padding: 0 1em; color: #1f2328; }
h1, h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
h3 { margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; }
th { background: #f6f8fa; }
tr:nth-child(even) td { background: #fbfcfd; }
img { max-width: 100%; height: auto; }
code, pre { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
            background: #f6f8fa; border-radius: 4px; }
code { padding: .1em .3em; }
pre { padding: .8em; overflow-x: auto; }
blockquote { margin: 1em 0; padding: .2em 1em; border-left: 4px solid #d29922;
             background: #fff8c5; }
"""
_SRC = re.compile(r"""\b(src|href)=(["'])(.*?)\2""", re.IGNORECASE)


def data_uri(name: str, data: bytes) -> str:
    kind = IMAGE_TYPES.get(PurePosixPath(name).suffix.lower(), "application/octet-stream")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def inline_files(body: str, files: dict[str, bytes]) -> str:
    """Every src/href that names a report file becomes a data URI; a src naming anything
    else on disk is dropped, so the page never reaches outside itself."""
    def swap(match: re.Match[str]) -> str:
        attr, quote_char, target = match.groups()
        found = files.get(unquote(html.unescape(target)))
        if found is not None:
            return f"{attr}={quote_char}{data_uri(target, found)}{quote_char}"
        if attr.lower() == "src" and not target.startswith("data:"):
            return f"data-missing-{attr}={quote_char}{target}{quote_char}"
        return match.group(0)

    return _SRC.sub(swap, body)


def to_html(report: Report) -> str:
    try:
        import markdown
    except ImportError:  # pragma: no cover - tensorboard depends on it
        raise UserError("--format html needs the `markdown` package",
                        fix="pip install markdown, or use --format md") from None
    body = markdown.markdown(report.markdown, extensions=["tables", "fenced_code",
                                                          "sane_lists"])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{inline_files(body, report.files)}\n</body>\n</html>\n")
