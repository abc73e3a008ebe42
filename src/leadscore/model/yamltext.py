"""Writing model YAML: a rule as text, and that text added to a model's own text.

The rule builder of the web app makes a rule from what a user picked and typed;
this module turns it into YAML that the loader reads back to the same data,
whatever the values hold (colons, quotes, ``#``, new lines, ``yes``, numbers as
text, characters YAML cannot carry raw), and adds it to the chosen group's
``rules`` in the model's text without touching the rest of it: comments, order and
layout stay as the user wrote them. :func:`add_rule` checks its own work: the text
it returns loads to exactly the data before, with the rule appended.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ModelError
from .loader import parse_yaml

GROUP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# Text that may be written bare: letters, digits and a few marks that mean nothing
# to YAML here, single spaces between words; whether it reads back as the same text
# is then checked with the loader itself (``yes``, ``1e3``, ``null`` are not).
_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./@+-]*( [A-Za-z0-9_./@+-]+)*\Z")
# What PyYAML's reader accepts raw in a stream; the rest is written as an escape.
# (U+2028 and U+2029 are line breaks to YAML, and a BOM is dropped: both escaped too.)
_PRINTABLE = re.compile(
    "[\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


class BuildError(ValueError):
    """What the builder could not write, with the field it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def _quoted(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _PRINTABLE.match(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _reads_back(text: str) -> bool:
    try:
        data, _ = parse_yaml(f"v: {text}\n", max_bytes=None)
    except ModelError:
        return False
    return isinstance(data, dict) and data.get("v") == text


def scalar(value: Any) -> str:
    """One value as YAML that the model loader reads back equal, bare where it can be."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BuildError(f"{value} is not a number a model can hold")
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if not isinstance(value, str):
        raise BuildError(f"cannot write {value!r} in a model")
    if _PLAIN.match(value) and _reads_back(value):
        return value
    return _quoted(value)


def flow(value: Any) -> str:
    """A value as one line of YAML (mappings in ``{}``, lists in ``[]``)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def rule_block(rule: dict[str, Any], indent: int) -> str:
    """A rule as a block list item: ``- name: …`` at ``indent``, its other keys under it,
    each value on one line."""
    pad = " " * indent
    lines = []
    for i, (key, value) in enumerate(rule.items()):
        lead = f"{pad}- " if i == 0 else f"{pad}  "
        lines.append(f"{lead}{scalar(key)}: {flow(value)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- adding


@dataclass(frozen=True)
class Added:
    text: str
    first_line: int
    """The added rule's first and last lines (1-based) in ``text``."""
    last_line: int


def _content_end(node: yaml.Node) -> yaml.Mark:
    """Where a node's own text ends (a block collection ends with its last value,
    not at the next key, which may be lines of comments further)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1])
    return node.end_mark


def _line_after(text: str, mark: yaml.Mark) -> int:
    """The index where the line after ``mark``'s line starts (the end of the text if
    none does)."""
    if mark.column == 0 and mark.index > 0 and text[mark.index - 1] == "\n":
        return mark.index
    at = text.find("\n", mark.index)
    return len(text) if at < 0 else at + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _create(path: list[str], rule: dict[str, Any], indent: int) -> str:
    """Block lines making ``path`` (mapping keys, the last one holding the rules list)
    with the rule in it, the first key at ``indent``."""
    lines = []
    for depth, key in enumerate(path):
        lines.append(" " * (indent + 2 * depth) + f"{scalar(key)}:\n")
    return "".join(lines) + rule_block(rule, indent + 2 * len(path))


def _flow_create(path: list[str], rule: dict[str, Any]) -> str:
    value: Any = [rule]
    for key in reversed(path):
        value = {key: value}
    return flow(value)


def _insert(
    text: str,
    node: yaml.Node,
    path: list[str],
    rule: dict[str, Any],
    where: str,
    in_block: bool = True,
) -> str:
    """The text with the rule added at ``path`` under ``node`` (``in_block``: the node is
    a value of a block mapping, so lines may replace it)."""
    if not path:  # the rules list itself
        if _is_null(node):
            return _replace_null(text, node, [], rule)
        if not isinstance(node, yaml.SequenceNode):
            raise BuildError(
                f"{where} is not a list (line {node.start_mark.line + 1}): make it a list "
                "of rules in the YAML first"
            )
        if node.flow_style and not node.value and in_block:  # rules: [] gives way to lines
            return _replace_null(text, node, [], rule)
        if node.flow_style:
            at = _content_end(node.value[-1]).index if node.value else node.end_mark.index - 1
            return text[:at] + (", " if node.value else "") + flow(rule) + text[at:]
        at = _line_after(text, _content_end(node))
        lead = "" if at == 0 or text[at - 1] == "\n" else "\n"
        return text[:at] + lead + rule_block(rule, node.start_mark.column) + text[at:]
    if _is_null(node):
        return _replace_null(text, node, path, rule)
    if not isinstance(node, yaml.MappingNode):
        raise BuildError(
            f"{where} is not a mapping (line {node.start_mark.line + 1}): fix it in the YAML first"
        )
    key, rest = path[0], path[1:]
    inner = f"{where}.{key}" if where else key
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return _insert(text, v, rest, rule, inner, not node.flow_style)
    if node.flow_style:
        at = _content_end(node.value[-1][1]).index if node.value else node.end_mark.index - 1
        entry = f"{scalar(key)}: {_flow_create(rest, rule)}"
        return text[:at] + (", " if node.value else "") + entry + text[at:]
    if not node.value:  # pragma: no cover - an empty mapping is written {} (flow)
        raise BuildError(f"{where} is empty: write its keys in the YAML first")
    at = _line_after(text, _content_end(node))
    lead = "" if at == 0 or text[at - 1] == "\n" else "\n"
    return text[:at] + lead + _create(path, rule, node.value[0][0].start_mark.column) + text[at:]


def _replace_null(text: str, node: yaml.Node, path: list[str], rule: dict[str, Any]) -> str:
    """``key:`` with nothing (or ``~``, ``null``, ``[]``) after it: the rest written in its
    place, as block lines under the key."""
    line_start = text.rfind("\n", 0, node.start_mark.index) + 1
    key_line = text[line_start : node.start_mark.index]
    indent = len(key_line) - len(key_line.lstrip(" -"))
    body = _create(path, rule, indent + 2) if path else rule_block(rule, indent + 2)
    start, end = node.start_mark.index, node.end_mark.index
    if start == end:  # nothing written: the lines go under the key's line
        at = _line_after(text, node.start_mark)
        lead = "" if at == 0 or text[at - 1] == "\n" else "\n"
        return text[:at] + lead + body + text[at:]
    rest = text[end:]
    tail = rest.split("\n", 1)
    after = "\n" + tail[1] if len(tail) > 1 else ""
    return text[:start].rstrip(" ") + tail[0] + "\n" + body.rstrip("\n") + after


def add_rule(text: str, group: str, rule: dict[str, Any]) -> Added:
    """Add ``rule`` (a rule's data, as the YAML would hold it) to ``groups.<group>.rules``
    in the model's text, making the group or its ``rules`` when missing.

    Raises :class:`ModelError` when the text is not YAML the loader reads, and
    :class:`BuildError` when the place to add it is something else than a mapping
    or a list, or when the result would not read back as the rule added.
    """
    if not GROUP_NAME.match(group):
        raise BuildError(
            f"a group name is letters, digits and _, starting with a letter; got {group!r}",
            "group",
        )
    data, _ = parse_yaml(text)
    if not isinstance(data, dict):
        raise BuildError("the model is not a mapping of keys (name, groups, …): fix the YAML first")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert root is not None  # parse_yaml refused an empty text
    new = _insert(text, root, ["groups", group, "rules"], rule, "")
    _check(data, new, group, rule)
    first = _first_line(new, text)
    return Added(new, first, first + _lines_added(new, text) - 1)


def _check(before: dict[str, Any], new: str, group: str, rule: dict[str, Any]) -> None:
    expected = dict(before)
    groups = dict(expected.get("groups") or {})
    body = dict(groups.get(group) or {})
    body["rules"] = [*(body.get("rules") or []), rule]
    groups[group] = body
    expected["groups"] = groups
    try:
        after, _ = parse_yaml(new)
    except ModelError:
        after = None
    if after != expected:
        raise BuildError(
            "the rule cannot be added to this text's layout by the builder: copy its YAML "
            "into the group's rules by hand"
        )


def _first_line(new: str, old: str) -> int:
    """The first line that differs between the old and the new text (1-based)."""
    i = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        i += 1
    return new.count("\n", 0, new.rfind("\n", 0, i) + 1) + 1


def _lines_added(new: str, old: str) -> int:
    return max(1, new.count("\n") - old.count("\n"))
