"""The SQL modules import one another without cycles (function-level imports too), so
each can be read, changed and imported on its own."""

import ast
from pathlib import Path

import leadscore.engine.sql as sql

PKG = "leadscore.engine.sql"


def _graph() -> dict[str, set[str]]:
    root = Path(sql.__file__).parent
    mods = {(PKG if p.stem == "__init__" else f"{PKG}.{p.stem}"): p for p in root.glob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = PKG.split(".")[: len(PKG.split(".")) - max(node.level - 1, 0)]
                target = ".".join([*base, node.module] if node.module else base)
                if not node.level:
                    target = node.module or ""
                for a in node.names:
                    if f"{target}.{a.name}" in mods:
                        edges[m].add(f"{target}.{a.name}")
                    elif target in mods:
                        edges[m].add(target)
            elif isinstance(node, ast.Import):
                edges[m] |= {a.name for a in node.names if a.name in mods}
    return edges


def test_no_import_cycle_among_sql_modules():
    edges = _graph()

    def reaches(start: str) -> set[str]:
        seen, todo = set(), list(edges[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += edges[m]
        return seen

    cycles = sorted(m for m in edges if m in reaches(m))
    assert cycles == []
