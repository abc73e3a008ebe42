"""Files uploaded to the import page: streamed to a temporary file, checked as they come.

An upload is hostile until shown otherwise. :class:`UploadSink` writes the request body
to a file of its own, a chunk at a time (never the whole body in memory), and refuses,
with the place and the fix:

* a body over the size limit (setting ``max_import_bytes``), declared or not;
* an empty file;
* for CSV: a NUL byte (a binary file, or UTF-16 from a spreadsheet) and bytes that are
  not UTF-8 (a UTF-8 byte-order mark is dropped; a UTF-16 one is named);
* for Parquet: a file that does not begin and end with Parquet's ``PAR1`` marks.

The file's name on disk is ours (``contacts.csv``, ``events.parquet`` in a folder
:func:`tempfile.mkdtemp` made); the name the user's browser sent is only shown. The
staged files of one import are a :class:`Staged`, kept by :class:`Imports` under a
random token and reachable only by the user who uploaded them.

:func:`formula_cells` finds the cells a spreadsheet would run as formulas (a leading
``=``, ``+``, ``-``, ``@``, tab or carriage return that is not a number or phone
number), for the preview to name before they are stored.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import io
from ..errors import DataError

KINDS = ("contacts", "events")
FORMATS = {"csv": ".csv", "parquet": ".parquet"}
PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
STAGED_FOR = 3600.0  # seconds an upload waits for its import before it is removed
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SHOWN = 5  # rows named per formula-looking column
#: a leading character a spreadsheet reads as the start of a formula (OWASP's list)
FORMULA_START = "^[=+@\t\r-]"
#: ... unless the whole cell is a number or a phone number (+33 1 23 45 67 89, -12.5),
#: or a lone sign (a dash for "none")
NUMBER_LIKE = r"^([+-]?[0-9][0-9 ().,/-]*|[+-])$"


class UploadError(DataError):
    """An upload refused before it is read as a table; ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int = 422, **kw: Any):
        self.status = status
        super().__init__(message, **kw)


def display_name(raw: str | None, fallback: str) -> str:
    """The name the browser gave the file, to show only: its last part, printable, short."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:120]
    return name or fallback


class UploadSink:
    """Receives an upload's bytes into ``path``, checking them as they come (see the
    module's doc); :meth:`finish` runs the checks that need the whole file."""

    def __init__(self, path: Path, fmt: str, limit: int, name: str):
        self.path, self.fmt, self.limit, self.name = path, fmt, limit, name
        self.received = 0  # bytes received
        self.size = 0  # bytes written
        self.lines = 1  # the line being received (CSV), counted from 1 with the header
        self._started = False  # the first bytes were looked at (byte-order marks)
        self._head = b""  # the first bytes, until they are looked at
        self._carry = b""  # an incomplete UTF-8 sequence at a chunk's end
        self._tail = b""  # the last 4 bytes (Parquet's closing mark)
        self._file = path.open("wb")

    def _error(self, message: str, hint: str, *, line: int | None = None, status: int = 422):
        self.close()
        self.path.unlink(missing_ok=True)
        row = line - 1 if line is not None and line > 1 else None
        if line == 1:
            message += " (on the header line)"
        return UploadError(message, source=self.name, row=row, hint=hint, status=status)

    def too_big(self) -> UploadError:
        mb = self.limit / 1_000_000
        return self._error(
            f"the file is larger than the import's limit of {mb:,.0f} MB",
            "split the file (contacts and events can be imported in several parts; an "
            "event_id counts once) or ask an admin to raise the setting max_import_bytes",
            status=413,
        )

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.received += len(chunk)
        if self.received > self.limit:
            raise self.too_big()
        if not self._started:
            self._head += chunk
            if len(self._head) < len(PARQUET_MAGIC):
                return  # too few bytes to tell yet
            chunk, self._head = self._first(self._head), b""
        self._put(chunk)

    def _first(self, head: bytes) -> bytes:
        """Look at the file's first bytes: the format's mark, a byte-order mark."""
        self._started = True
        if self.fmt == "parquet":
            if not head.startswith(PARQUET_MAGIC):
                raise self._not_parquet(head)
            return head
        if head.startswith(UTF16_BOMS):
            raise self._error(
                "the file is UTF-16 text, not UTF-8",
                "save or export it as 'CSV UTF-8' (in a spreadsheet: Save as → CSV UTF-8)",
                line=1,
            )
        if head.startswith(PARQUET_MAGIC):
            raise self._error(
                "the file is a Parquet file, not CSV", "choose the format Parquet", line=1
            )
        # the UTF-8 byte-order mark is dropped (it would be read into the first name)
        return head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head

    def _put(self, chunk: bytes) -> None:
        if self.fmt == "csv":
            self._text(chunk)
        else:
            self._tail = (self._tail + chunk)[-len(PARQUET_MAGIC) :]
        self.size += len(chunk)
        self._file.write(chunk)

    def _not_parquet(self, head: bytes) -> UploadError:
        text = head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:64])
        return self._error(
            "the file is not a Parquet file: it lacks the PAR1 marks a Parquet file begins "
            "and ends with" + (" (it looks like text: a CSV file?)" if text else ""),
            "upload the file as a Parquet writer wrote it (whole, not renamed), or choose "
            "the format the file really has",
        )

    def _text(self, chunk: bytes) -> None:
        """Check a CSV chunk: no NUL, UTF-8 only (a sequence may span two chunks)."""
        nul = chunk.find(b"\x00")
        if nul >= 0:
            line = self.lines + chunk.count(b"\n", 0, nul)
            raise self._error(
                f"the file holds a NUL byte on line {line:,}: it is binary, or text in "
                "another encoding than UTF-8 (such as UTF-16)",
                "export the data as CSV in UTF-8; a NUL character cannot be stored",
                line=line,
            )
        data = self._carry + chunk
        try:
            data.decode("utf-8")
            self._carry = b""
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data" and exc.end == len(data):
                self._carry = data[exc.start :]  # the rest comes with the next chunk
            else:
                line = self.lines + data.count(b"\n", 0, exc.start)
                bad = data[exc.start : exc.end].hex(" ")
                raise self._error(
                    f"line {line:,} is not UTF-8 text (byte {bad}): the file is in another "
                    "encoding, such as Windows-1252 or Latin-1",
                    "save or export the file as 'CSV UTF-8' and upload it again",
                    line=line,
                ) from None
        self.lines += chunk.count(b"\n")

    def finish(self) -> int:
        """Close the file and run the whole-file checks; the size in bytes written."""
        if not self._started and self._head:
            head, self._head = self._head, b""
            self._put(self._first(head))
        if self._carry:
            raise self._error(
                "the file ends inside a UTF-8 character: it was cut short or is in another "
                "encoding",
                "upload the whole file, saved as 'CSV UTF-8'",
                line=self.lines,
            )
        if self.size == 0:
            raise self._error(
                "the file is empty", "choose the file again: nothing was received for it"
            )
        if self.fmt == "parquet" and (self._tail != PARQUET_MAGIC or self.size < 12):
            raise self._not_parquet(b"")
        self.close()
        return self.size

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


# ---------------------------------------------------------------- staged imports
@dataclass
class StagedFile:
    kind: str  # contacts | events
    path: Path  # ours, in the import's folder
    name: str  # as the browser named it: shown, never opened
    size: int


@dataclass
class Job:
    """An import running in the background: its step and progress, then its end."""

    step: str = "reading"
    done: int = 0
    total: int = 0
    state: str = "running"  # running | done | failed
    report: Any = None
    error: DataError | None = None
    message: str = ""


@dataclass
class Staged:
    token: str
    owner: int  # the user id of the uploader
    folder: Path
    created: float = field(default_factory=time.monotonic)
    files: dict[str, StagedFile] = field(default_factory=dict)
    job: Job | None = None

    def path(self, kind: str) -> Path | None:
        found = self.files.get(kind)
        return found.path if found else None

    def scrub(self, text: str) -> str:
        """A message with the staged files' paths replaced by the names the user gave."""
        for f in self.files.values():
            text = text.replace(str(f.path), f.name)
        return text.replace(str(self.folder), "the upload")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Imports:
    """The staged imports of this process, by token (see the module's doc)."""

    def __init__(self, root: str | None = None):
        self.root = root
        self._lock = threading.Lock()
        self._staged: dict[str, Staged] = {}

    def create(self, owner: int) -> Staged:
        self.expire()
        folder = Path(tempfile.mkdtemp(prefix="leadscore-import-", dir=self.root))
        staged = Staged(secrets.token_urlsafe(24), owner, folder)
        with self._lock:
            self._staged[staged.token] = staged
        return staged

    def get(self, token: str, owner: int) -> Staged | None:
        """The user's staged import of this token (None: unknown, expired, someone else's)."""
        if not TOKEN.fullmatch(token or ""):
            return None
        with self._lock:
            staged = self._staged.get(token)
        return staged if staged is not None and staged.owner == owner else None

    def start(self, staged: Staged) -> Job | None:
        """Give the staged import its job, unless another import is running (None)."""
        with self._lock:
            if any(s.job and s.job.state == "running" for s in self._staged.values()):
                return None
            staged.job = Job()
            return staged.job

    def discard(self, staged: Staged) -> None:
        with self._lock:
            self._staged.pop(staged.token, None)
        staged.remove()

    def expire(self, now: float | None = None) -> None:
        """Remove the uploads left waiting longer than :data:`STAGED_FOR`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            old = [
                s
                for s in self._staged.values()
                if now - s.created > STAGED_FOR and not (s.job and s.job.state == "running")
            ]
            for s in old:
                del self._staged[s.token]
        for s in old:
            s.remove()


# ---------------------------------------------------------------- formula-looking cells
def formula_cells(
    inputs: io.Inputs, table: str, columns: list[str], source: str
) -> list[DataError]:
    """One problem per column of ``table`` holding cells a spreadsheet would run as a
    formula, naming the first rows."""
    from ..service.import_checks import quote

    found: list[DataError] = []
    for col in columns:
        q = quote(col)
        where = (
            f"regexp_matches({q}, '{FORMULA_START}') AND NOT regexp_matches(trim({q}), "
            f"'{NUMBER_LIKE}')"
        )
        rows = inputs.con.execute(
            f"SELECT rowid + 1, {q} FROM {table} WHERE {where} ORDER BY rowid LIMIT {SHOWN}"
        ).fetchall()
        if not rows:
            continue
        total = inputs.con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
        n = int(total[0]) if total else len(rows)
        listed = ", ".join(f"{r:,}" for r, _ in rows) + (", …" if n > len(rows) else "")
        found.append(
            DataError(
                f"{rows[0][1][:40]!r} looks like a spreadsheet formula ({n:,} cell"
                f"{'s' if n != 1 else ''}: row{'s' if n != 1 else ''} {listed})",
                source=source,
                row=rows[0][0],
                column=col,
                hint="remove the leading =, +, -, @ if the cell is not meant as a formula, or "
                "tick 'keep formula-looking cells as text' (the leads export writes them "
                "with a leading quote mark, so a spreadsheet never runs them)",
            )
        )
    return found
