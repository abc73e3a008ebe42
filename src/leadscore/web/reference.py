"""The model reference, served by the app at ``/reference/model``.

The page is ``docs/model-reference.md`` (a copy ships in the package, kept equal by
a test) turned into HTML by the small Markdown reader below: headings with the
anchors GitHub gives them, paragraphs, lists, tables, code blocks, inline code,
emphasis and links; every piece of text is escaped. :data:`CONSTRUCTS` maps each
key of the model language to its section, for the editor's links.
"""

from __future__ import annotations

import re
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from .base import Page, current

router = APIRouter(include_in_schema=False)
SOURCE = Path(__file__).parent / "model-reference.md"
PATH = "/reference/model"

# Each construct key of the model language -> the heading of its section.
_SECTIONS = {
    "Model reference": "name description scale",
    "Groups": "groups combine weight min max reset_on_stage",
    "The total": "total weights",
    "Rules": "rules kind",
    "property — a condition on the contact's properties": "when cases else",
    "event — points for each matching event": "points max_points within limit per count",
    "frequency — at least N matching events within a window": "at_least",
    "inactivity — no matching event for a period": "inactive_for or_never",
    "completeness — points per filled property": "properties",
    "Exclusions": "exclusions",
    "Conditions": "all any not eq ne in not_in contains starts_with ends_with matches gt gte "
    "lt lte between exists missing",
    "Decay": "decay half_life linear expires steps until factor",
    "Stages and resets": "lifecycle stage_property entered_at_property",
    "Grades": "grades",
    "Thresholds": "thresholds stage default_stage",
    "Triggers": "triggers actions webhook enters leaves crosses",
    "Predicted score": "predicted",
    "The account section": "account",
    "Durations": "durations",
}


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


CONSTRUCTS: dict[str, str] = {
    key: slug(title) for title, keys in _SECTIONS.items() for key in keys.split()
}
"""Construct key -> anchor of its section in the reference page."""
SECTION_TITLES = tuple(_SECTIONS)


def section_of(path: object) -> str | None:
    """The anchor of the section about a model path's innermost construct
    (``groups.fit.rules[1].within`` -> the event rules' section), if any."""
    parts = path if isinstance(path, list | tuple) else re.split(r"[.\[\]]+", str(path))
    for part in reversed([str(p) for p in parts if str(p)]):
        if part in CONSTRUCTS:
            return CONSTRUCTS[part]
    return None


def with_sections(check: dict[str, Any]) -> dict[str, Any]:
    """The editor's checks with, on each problem and warning, its section's anchor."""
    for item in [*check.get("problems", ()), *check.get("warnings", ())]:
        if isinstance(item, dict):
            item["section"] = section_of(item.get("path", ""))
    return check


_INLINE = re.compile(
    r"`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|(?<![\w*])\*([^*\s][^*]*?)\*"
)


def _link(target: str) -> str | None:
    """Where a link of the document goes in the app: its own sections stay links; other
    documents are not served, so they are named without a link."""
    if target.startswith("#"):
        return target
    if target.startswith("model-reference.md#"):
        return target[len("model-reference.md") :]
    if target.startswith(("https://", "http://")):
        return target
    return None


def inline(text: str) -> str:
    out, at = [], 0
    for m in _INLINE.finditer(text):
        out.append(escape(text[at : m.start()]))
        code, strong, label, target, em = m.groups()
        if code is not None:
            out.append(f"<code>{escape(code)}</code>")
        elif strong is not None:
            out.append(f"<strong>{inline(strong)}</strong>")
        elif label is not None:
            href = _link(target)
            shown = inline(label)
            out.append(f'<a href="{escape(href)}">{shown}</a>' if href else shown)
        else:
            out.append(f"<em>{inline(em)}</em>")
        at = m.end()
    out.append(escape(text[at:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    inner = line.strip().strip("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner)]


def render(markdown: str) -> tuple[str, list[tuple[int, str, str]]]:
    """The HTML of a Markdown document and its headings (level, anchor, title)."""
    lines = markdown.splitlines()
    html: list[str] = []
    toc: list[tuple[int, str, str]] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            html.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()
        if items:
            html.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            html.append(f'<pre class="code">{escape(chr(10).join(body))}</pre>')
        elif m := re.match(r"(#{1,4}) (.+)", line):
            flush()
            level, title = len(m.group(1)), m.group(2).strip()
            anchor = slug(title)
            toc.append((level, anchor, title))
            html.append(
                f'<h{level} id="{escape(anchor)}">{inline(title)} '
                f'<a class="anchor" href="#{escape(anchor)}" '
                'aria-label="link to this section">#</a>'
                f"</h{level}>"
            )
        elif (
            line.startswith("|")
            and i + 1 < len(lines)
            and re.match(r"\|[\s:|-]+\|?$", lines[i + 1])
        ):
            flush()
            head = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            i -= 1
            html.append(
                '<div class="table-scroll"><table class="grid-table"><thead><tr>'
                + "".join(f"<th>{inline(c)}</th>" for c in head)
                + "</tr></thead><tbody>"
                + "".join(
                    "<tr>"
                    + "".join(f"<td>{inline(c.replace(chr(92) + '|', '|'))}</td>" for c in r)
                    + "</tr>"
                    for r in rows
                )
                + "</tbody></table></div>"
            )
        elif m := re.match(r"\s*[*-] (.*)", line):
            if para:
                html.append(f"<p>{inline(' '.join(para))}</p>")
                para.clear()
            items.append(m.group(1))
        elif not line.strip():
            flush()
        elif items and line.startswith("  "):
            items[-1] += " " + line.strip()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(html), toc


@cache
def _page() -> tuple[str, tuple[tuple[int, str, str], ...]]:
    body, toc = render(SOURCE.read_text(encoding="utf-8"))
    return body, tuple(toc)


@router.get(PATH, response_class=HTMLResponse)
def reference(page: Page = Depends(current)) -> Response:
    body, toc = _page()
    return page.render("reference.html", body=body, toc=[t for t in toc if t[0] == 2])
