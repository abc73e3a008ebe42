"""Read a model from YAML, keeping every node's line and column, and turn
validation failures into :class:`~leadscore.errors.Problem` objects that point
at the offending spot.

YAML is read with the YAML 1.2 core rules for booleans: only ``true`` and
``false`` are booleans, so ``on:``, ``no`` (Norway) and ``yes`` stay text.
Dates stay text too.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ModelError, Problem
from . import accounts, schema
from .conditions import OPERATORS

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps."""


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


def _build(node: yaml.Node, path: Path_, marks: _Marks, problems: list[Problem], ctor) -> Any:
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
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path, node = (*path, part), node[part]
        elif isinstance(part, str) and part in _TAGS:
            continue  # a union tag pydantic adds to the location
        else:
            mark = marks.value.get(path)
            return path, mark, False
    mark = marks.key.get(path) or marks.value.get(path)
    return path, mark, True


def _friendly(err: dict[str, Any]) -> tuple[str, str | None]:
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
    if kind in ("condition", "url"):
        return ctx.get("message", msg), ctx.get("hint")
    return msg.removeprefix("Value error, "), None


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
                problems.append(
                    Problem(reached, message, hint, *(mark or (None, None)), source=source)
                )
            continue
        if kind == "condition":
            loc = (*loc, *ctx.get("subpath", ()))
        reached, mark, _ = _locate(data, loc, marks)
        if kind == "extra_forbidden":
            key = str(loc[-1])
            close = difflib.get_close_matches(key, sorted(_VOCAB), 1, 0.6)
            hint = f"did you mean {close[0]!r}?" if close else None
            problems.append(
                Problem(reached, f"unknown key {key!r}", hint, *(mark or (None, None)), source)
            )
            continue
        if kind == "missing":
            field = str(loc[-1])
            problems.append(
                Problem(
                    reached,
                    f"missing required key {field!r}",
                    None,
                    *(mark or (None, None)),
                    source,
                )
            )
            continue
        message, hint = _friendly(err)
        problems.append(Problem(reached, message, hint, *(mark or (None, None)), source))
    return _dedupe(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return sorted(out, key=lambda p: (p.line or 0, p.column or 0))


def parse_yaml(text: str, source: str | None = None) -> tuple[Any, _Marks]:
    marks = _Marks()
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=_Loader)
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
    if node is None:
        raise ModelError(
            [Problem((), "the model file is empty", "start from examples/", 1, 1, source)]
        )
    ctor = _Loader("")
    data = _build(node, (), marks, problems, ctor)
    if problems:
        raise ModelError([_with_source(p, source) for p in problems])
    return data, marks


def _with_source(p: Problem, source: str | None) -> Problem:
    return Problem(p.path, p.message, p.hint, p.line, p.column, source)


def model_from_data(data: Any, marks: _Marks | None = None, source: str | None = None):
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
        return schema.ScoringModel.model_validate(data)
    except ValidationError as exc:
        raise ModelError(problems_from_validation(exc, data, marks, source)) from None


def load_model_text(text: str, source: str | None = None) -> schema.ScoringModel:
    """Load a model from YAML text only (never read as a path): for text users send."""
    data, marks = parse_yaml(text, source)
    return model_from_data(data, marks, source)


def load_model(source: str | Path | dict) -> schema.ScoringModel:
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
    data, marks = parse_yaml(text, name)
    return model_from_data(data, marks, name)
