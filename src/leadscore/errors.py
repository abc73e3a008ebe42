"""One error hierarchy for the whole project.

Every message names the bad value, where it is, and how to fix it. The CLI maps
these (and only these) to a friendly ``Error: ...`` line; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class LeadscoreError(Exception):
    """Base class of every error leadscore raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a model file, with where it is and how to fix it."""

    path: tuple[str | int, ...]
    message: str
    hint: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    source: str | None = None

    @property
    def where(self) -> str:
        place = self.source or "<model>"
        if self.line is not None:
            place += f":{self.line}:{self.column or 1}"
        return place

    @property
    def dotted_path(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out or "(top level)"

    def __str__(self) -> str:
        text = f"{self.where}: {self.dotted_path}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "path": self.dotted_path,
            "message": self.message,
            "hint": self.hint,
        }


class ModelError(LeadscoreError):
    """A scoring model is invalid. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"the model has {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class DataError(LeadscoreError):
    """Input data (contacts or events) cannot be used as given."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ):
        self.source, self.row, self.column, self.hint = source, row, column, hint
        where = []
        if source:
            where.append(source)
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column!r}")
        text = (", ".join(where) + ": " if where else "") + message
        if hint:
            text += f" ({hint})"
        self.detail = message
        super().__init__(text)


class UsageError(LeadscoreError):
    """The command or call was used wrongly (bad option combination, missing file)."""


class CrmError(LeadscoreError):
    """A CRM call failed for good (raised by the integrations' connectors; the outbox
    worker turns it into a delivery failure it retries)."""


class CrmAuthError(CrmError):
    """The CRM refused the credentials (401) or their scope (403)."""


class CrmRequestError(CrmError):
    """The CRM refused the request itself (4xx other than 401/403/429)."""

    def __init__(self, message: str, status: int):
        self.status = status
        super().__init__(message)


class CrmUnavailable(CrmError):
    """Retries ran out (rate limited or failing server): nothing more was sent."""
