"""Read a model from YAML, keeping every node's line and column, and turn
validation failures into :class:`~leadscore.errors.Problem` objects that point
at the offending spot.

YAML is read with the YAML 1.2 core rules for booleans: only ``true`` and
``false`` are booleans, so ``on:``, ``no`` (Norway) and ``yes`` stay text.
Dates stay text too.

Text built to exhaust the reader is refused before it costs anything, each time
with a located problem: a model larger than ``max_bytes`` (default
:data:`MAX_MODEL_BYTES`), lists and mappings nested deeper than :data:`MAX_DEPTH`,
and aliases (``*name``) that would add more than ``alias_budget`` values (default
:data:`ALIAS_BUDGET`) once expanded — the "billion laughs", where a few lines
of aliases stand for 10**9 values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..errors import ModelError, Problem
from . import accounts, schema
from .conditions import OPERATORS

Path_ = tuple[str | int, ...]

MAX_MODEL_BYTES = 1_000_000
"""Largest model text read, in UTF-8 bytes (the biggest example is about 6 KB)."""
MAX_DEPTH = 64
"""Most levels of lists and mappings inside one another (a model needs about 12)."""
ALIAS_BUDGET = 10_000
"""Most values (scalars, lists, mappings) that aliases may add to a model in all."""


class _Refused(Exception):
    """Raised while composing: what was refused, the fix, and where."""

    def __init__(self, message: str, hint: str, mark: Any) -> None:
        super().__init__(message)
        self.message, self.hint, self.mark = message, hint, mark


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps, which counts
    what it composes: nesting depth, and the values each alias stands for."""

    def __init__(self, stream: str, *, max_depth: int, alias_budget: int) -> None:
        super().__init__(stream)
        self._max_depth, self._budget = max_depth, alias_budget
        self._depth = 0
        self._aliased = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to, once complete

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)  # refuses an undefined alias
            size = self._sizes.get(id(node))
            if size is None:  # its anchor is still open: the alias is inside it
                raise _Refused(
                    f"alias *{event.anchor} is inside the list or mapping its anchor "
                    "names, so it contains itself without end",
                    f"write the values out instead of *{event.anchor}",
                    event.start_mark,
                )
            self._aliased += size
            if self._aliased > self._budget:
                raise _Refused(
                    f"aliases add more than {self._budget} values to the model here "
                    f"(*{event.anchor} alone stands for {size}); a model may add at most "
                    f"{self._budget} values through aliases",
                    "write the repeated part out where it is needed, or use fewer aliases",
                    event.start_mark,
                )
            return node
        nested = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if nested:
            if self._depth >= self._max_depth:
                raise _Refused(
                    f"lists and mappings are nested more than {self._max_depth} levels deep here",
                    "a model needs far fewer levels: look for an unclosed '[' or '{'",
                    event.start_mark,
                )
            self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(v)] for v in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        else:
            size = 1
        self._sizes[id(node)] = size
        return node


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _Marks:
    def __init__(self) -> None:
        self.key: dict[Path_, tuple[int, int]] = {}
        self.value: dict[Path_, tuple[int, int]] = {}


def _build(
    node: yaml.Node, path: Path_, marks: _Marks, problems: list[Problem], ctor: yaml.SafeLoader
) -> Any:
    marks.value[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = _build(knode, (*path, "<key>"), marks, problems, ctor)
            if isinstance(key, (dict, list)):
                problems.append(
                    Problem(
                        path,
                        "a key must be plain text",
                        None,
                        knode.start_mark.line + 1,
                        knode.start_mark.column + 1,
                    )
                )
                continue
            if key in out:
                first = marks.key.get((*path, key))
                problems.append(
                    Problem(
                        (*path, key),
                        f"key {key!r} appears twice in the same mapping",
                        f"the first is on line {first[0]}; keep one" if first else None,
                        knode.start_mark.line + 1,
                        knode.start_mark.column + 1,
                    )
                )
                continue
            marks.key[(*path, key)] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            out[key] = _build(vnode, (*path, key), marks, problems, ctor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, (*path, i), marks, problems, ctor) for i, v in enumerate(node.value)]
    return ctor.construct_object(node, deep=True)


def _vocabulary() -> set[str]:
    words: set[str] = set(OPERATORS) | {"all", "any", "not"}
    stack: list[type[BaseModel]] = [schema.ScoringModel]
    seen: set[type] = set()
    for module in (schema, accounts):
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, BaseModel) and cls is not BaseModel:
                stack.append(cls)
    for cls in stack:
        if cls in seen:
            continue
        seen.add(cls)
        for name, field in cls.model_fields.items():
            words.add(field.alias or name)
    words.discard("otherwise")
    words |= {"else", "half_life", "linear", "expires", "steps", "webhook", "email", "crm"}
    return words


_VOCAB = _vocabulary()
_TAGS = set(schema.RULE_KINDS) | set(accounts.ACCOUNT_RULE_KINDS) | {"webhook", "email", "crm"}


def _locate(data: Any, loc: Path_, marks: _Marks) -> tuple[Path_, tuple[int, int] | None, bool]:
    """Follow a pydantic error location through the data.

    Returns the data path reached, its mark, and whether the whole location was found.
    """
    path: Path_ = ()
    node = data
    for part in loc:
        in_mapping = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            path, node = (*path, part), node[part]
        elif isinstance(part, str) and part in _TAGS:
            continue  # a union tag pydantic adds to the location
        else:
            mark = marks.value.get(path)
            return path, mark, False
    mark = marks.key.get(path) or marks.value.get(path)
    return path, mark, True


def _friendly(err: ErrorDetails) -> tuple[str, str | None]:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return f"expected a number, got {value!r}", "write a number without quotes, e.g. 10"
    if kind in ("string_type",):
        return f"expected text, got {value!r}", None
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {value!r}", None
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping (key: value lines), got {value!r}", None
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {value!r}", "write e.g. [a, b] or one '- item' per line"
    if kind == "too_short":
        return "must not be empty", None
    if kind == "literal_error":
        return f"{value!r} is not allowed here: {msg.removeprefix('Input should be ')}", None
    if kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        return f"{value!r} is out of range: {msg.removeprefix('Input should be ')}", None
    if kind == "string_pattern_mismatch":
        return f"{value!r} has the wrong form", "a URL starts with http:// or https://"
    if kind in ("condition", "url", "hinted"):
        return ctx.get("message", msg), ctx.get("hint")
    return msg.removeprefix("Value error, "), None


_DECAY_KINDS = ("half_life", "linear", "expires", "steps")
# words other tools use for a key of ours, which spelling alone does not find
_SYNONYMS = {"window": "within", "cap": "max_points", "weight": "points", "score": "points"}


def _unknown_key_hint(key: str, value: Any) -> str | None:
    """A fix for a key not read where it stands: where it belongs when it is a key of
    another part of the model, else the nearest known key."""
    if key in _DECAY_KINDS:
        shown = value if isinstance(value, str | int | float) else "…"
        return f"{key} is a kind of decay: write it under decay, as decay: {{{key}: {shown}}}"
    if key in _VOCAB:
        return (
            f"{key!r} is a key of another part of the model, not read here; see "
            "docs/model-reference.md for where it goes"
        )
    if key in _SYNONYMS:
        return f"did you mean {_SYNONYMS[key]!r}?"
    close = difflib.get_close_matches(key, sorted(_VOCAB), 1, 0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _value_at(data: Any, loc: Path_) -> Any:
    node = data
    for part in loc:
        inside = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not inside:
            return None
        node = node[part]
    return node


def problems_from_validation(
    exc: ValidationError, data: Any, marks: _Marks, source: str | None
) -> list[Problem]:
    problems: list[Problem] = []
    errors = exc.errors(include_url=False)
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(
            len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == loc
            for other in errors
        ):
            continue  # a list whose items failed is not empty: report the items only
        kind = err["type"]
        ctx = err.get("ctx") or {}
        if kind == "crosscheck":
            for path, message, hint in ctx["problems"]:
                reached, mark, _ = _locate(data, tuple(path), marks)
                line, column = mark or (None, None)
                problems.append(Problem(reached, message, hint, line, column, source=source))
            continue
        if kind == "condition":
            loc = (*loc, *ctx.get("subpath", ()))
        reached, mark, _ = _locate(data, loc, marks)
        line, column = mark or (None, None)
        if kind == "extra_forbidden":
            key = str(loc[-1])
            hint = _unknown_key_hint(key, _value_at(data, reached))
            problems.append(Problem(reached, f"unknown key {key!r}", hint, line, column, source))
            continue
        if kind == "missing":
            field = str(loc[-1])
            problems.append(
                Problem(
                    reached,
                    f"missing required key {field!r}",
                    None,
                    line,
                    column,
                    source,
                )
            )
            continue
        message, hint = _friendly(err)
        problems.append(Problem(reached, message, hint, line, column, source))
    return _dedupe(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return sorted(out, key=lambda p: (p.line or 0, p.column or 0))


def _too_big(text: str, max_bytes: int | None) -> int | None:
    """The text's size in UTF-8 bytes when it is above ``max_bytes``, else None."""
    if max_bytes is None or len(text) * 4 <= max_bytes:
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > max_bytes else None


def parse_yaml(
    text: str,
    source: str | None = None,
    *,
    max_bytes: int | None = MAX_MODEL_BYTES,
    max_depth: int = MAX_DEPTH,
    alias_budget: int = ALIAS_BUDGET,
) -> tuple[Any, _Marks]:
    """The data of a YAML model and the marks of its keys and values.

    Refuses, with a located :class:`ModelError`, text above ``max_bytes`` UTF-8
    bytes (``None``: no limit), nesting deeper than ``max_depth`` and aliases
    adding more than ``alias_budget`` values.
    """
    marks = _Marks()
    problems: list[Problem] = []
    size = _too_big(text, max_bytes)
    if size is not None:
        raise ModelError(
            [
                Problem(
                    (),
                    f"the model is {size} bytes; the limit is {max_bytes} bytes",
                    "a model is a few kilobytes: split it into several models, or "
                    "remove what it does not need",
                    1,
                    1,
                    source,
                )
            ]
        )
    loader = None
    try:
        loader = _Loader(text, max_depth=max_depth, alias_budget=alias_budget)
        node = loader.get_single_node()
    except _Refused as exc:
        raise ModelError(
            [
                Problem(
                    (),
                    exc.message,
                    exc.hint,
                    exc.mark.line + 1,
                    exc.mark.column + 1,
                    source,
                )
            ]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ModelError(
            [
                Problem(
                    (),
                    f"not valid YAML: {exc.problem or exc.context}",
                    "check indentation (spaces, not tabs), colons and quotes",
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    source,
                )
            ]
        ) from None
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses
        line = getattr(exc, "position", None)
        raise ModelError(
            [
                Problem(
                    (),
                    f"not valid YAML: {exc}".splitlines()[0],
                    "remove control characters and save the file as UTF-8 text",
                    None if line is None else text.count("\n", 0, line) + 1,
                    None,
                    source,
                )
            ]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise ModelError(
            [Problem((), "the model file is empty", "start from examples/", 1, 1, source)]
        )
    ctor = yaml.SafeLoader("")
    data = _build(node, (), marks, problems, ctor)
    if problems:
        raise ModelError([_with_source(p, source) for p in problems])
    return data, marks


def _with_source(p: Problem, source: str | None) -> Problem:
    return Problem(p.path, p.message, p.hint, p.line, p.column, source)


def model_from_data(
    data: Any, marks: _Marks | None = None, source: str | None = None, *, stored: bool = False
) -> schema.ScoringModel:
    """Validate parsed data into a model. ``stored``: the text is a version the service
    accepted earlier, whose name and ``predicted.model_dir`` are not checked again."""
    marks = marks or _Marks()
    if not isinstance(data, dict):
        raise ModelError(
            [
                Problem(
                    (),
                    "a model is a mapping with at least 'name' and 'groups'",
                    "start from examples/b2b_saas.yaml",
                    1,
                    1,
                    source,
                )
            ]
        )
    try:
        return schema.ScoringModel.model_validate(data, context={schema.STORED: stored})
    except ValidationError as exc:
        raise ModelError(problems_from_validation(exc, data, marks, source)) from None


def load_model_text(
    text: str,
    source: str | None = None,
    *,
    max_bytes: int | None = MAX_MODEL_BYTES,
    alias_budget: int = ALIAS_BUDGET,
) -> schema.ScoringModel:
    """Load a model from YAML text only (never read as a path): for text users send.

    Text above ``max_bytes`` UTF-8 bytes, and aliases adding more than
    ``alias_budget`` values, are refused with a located problem.
    """
    data, marks = parse_yaml(text, source, max_bytes=max_bytes, alias_budget=alias_budget)
    return model_from_data(data, marks, source)


def load_model(
    source: str | Path | dict[str, Any], *, max_bytes: int | None = MAX_MODEL_BYTES
) -> schema.ScoringModel:
    """Load and validate a scoring model from a YAML file path, YAML text or a dict.

    A :class:`~pathlib.Path`, or a one-line string ending in ``.yaml``/``.yml``, is
    read as a file; other strings are YAML text (use :func:`load_model_text` for
    text from users). Raises :class:`~leadscore.errors.ModelError` listing every
    problem found, each with its line and column.
    """
    if isinstance(source, dict):
        return model_from_data(source)
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
    ):
        path = Path(source)
        if not path.exists():
            raise ModelError(
                [
                    Problem(
                        (),
                        f"model file {str(path)!r} does not exist",
                        "check the path",
                        None,
                        None,
                        str(path),
                    )
                ]
            )
        text, name = path.read_text(encoding="utf-8"), str(path)
    else:
        text, name = str(source), None
    data, marks = parse_yaml(text, name, max_bytes=max_bytes)
    return model_from_data(data, marks, name)


def locate(text: str, paths: Sequence[Path_]) -> list[tuple[int, int] | None]:
    """The (line, column) of each path in a model's YAML text (its nearest part that is
    written there), for warnings about a model that loaded; None where the text does
    not parse."""
    try:
        data, marks = parse_yaml(text, max_bytes=None)
    except ModelError:
        return [None] * len(paths)
    return [_locate(data, tuple(p), marks)[1] for p in paths]
