"""The import page: contacts and events files uploaded, previewed, then imported.

1. **Upload** (``POST /import/upload``): the page's script sends each file as the
   request body (no form encoding), which :class:`~.uploads.UploadSink` streams to a
   temporary file under the setting ``max_import_bytes``, checking it as it comes.
2. **Preview** (``GET /import/TOKEN``): the files read as ``leadscore import`` reads
   them (:func:`leadscore.service.importing.read_files`): the row counts, how each
   column is taken (id, e-mail, property; contact, type, time, event id, attribute),
   the first rows as they will be stored, and every problem the import's checks find
   (:func:`~leadscore.service.import_checks.check_files`), each with its row, column,
   what is wrong and the fix, plus the cells that look like spreadsheet formulas.
3. **Import** (``POST /import/TOKEN/run``): :func:`~leadscore.service.importing.import_files`
   in a background thread, its progress polled by the page (htmx). The import is one
   transaction: a refusal (an e-mail held by another stored contact, say) leaves the
   store as it was, and the page says so.

Importing needs the editor role (it writes contacts and events, as the API's write
scope does); each staged import is reachable only by the user who uploaded it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import duckdb
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..data import io
from ..errors import DataError, LeadscoreError
from ..service.core import utcnow
from ..service.import_checks import check_files, quote
from ..service.importing import ImportReport, import_files, read_files
from .base import Page, PageError, current, form
from .uploads import (
    FORMATS,
    KINDS,
    Imports,
    Job,
    Staged,
    StagedFile,
    UploadError,
    UploadSink,
    display_name,
)
from .uploads import formula_cells as find_formulas

router = APIRouter(include_in_schema=False)
PREVIEW_ROWS = 10
STEPS = {
    "reading": "reading the files",
    "checking": "checking rows",
    "accounts": "writing accounts",
    "contacts": "writing contacts",
    "events": "writing events",
    "scoring": "scoring contacts",
}
WHAT = "Importing contacts and events"
CHOOSE_FIRST = "(or choose: an e-mail on several contacts stays on the first contact)"


def imports(page: Page) -> Imports:
    state = page.request.app.state
    if getattr(state, "imports", None) is None:
        state.imports = Imports()
    found: Imports = state.imports
    return found


def _staged(page: Page, token: str) -> Staged:
    page.require("write", WHAT)
    staged = imports(page).get(token, page.user.id)
    if staged is None:
        raise PageError(
            404,
            "This upload is not here any more (uploads wait an hour, and only for the user "
            "who sent them): upload the files again on the Import page.",
        )
    return staged


def _problem(exc: DataError, staged: Staged | None = None) -> dict[str, Any]:
    """A problem as the pages and the upload's answer show it."""
    paths = staged.scrub if staged is not None else (lambda t: t)

    def scrub(text: str) -> str:  # the page's words for the command's option
        return paths(text).replace("(--repeated-emails first)", CHOOSE_FIRST)

    return {
        "source": scrub(exc.source or ""),
        "row": exc.row,
        "column": exc.column,
        "message": scrub(exc.detail),
        "hint": scrub(exc.hint or ""),
    }


# ---------------------------------------------------------------- the page and the upload
@router.get("/import", response_class=HTMLResponse)
def import_page(page: Page = Depends(current)) -> Response:
    page.require("write", WHAT)
    limit = page.svc.settings.max_import_bytes
    return page.render("import.html", limit_mb=limit / 1_000_000)


@router.post("/import/upload")
async def upload(page: Page = Depends(current)) -> Response:
    """One file as the request body: ``?kind=contacts|events&format=csv|parquet``, the
    browser's file name in ``X-File-Name`` (shown only), ``staged=TOKEN`` to add it to
    an upload begun with the other file. Answers ``{"staged": TOKEN}`` or a problem."""
    page.require("write", WHAT)
    request = page.request
    sent = request.headers.get("x-csrf-token") or ""
    if not sent or sent != page.csrf:
        raise PageError(403, "the upload's security token is missing or out of date; reload")
    params = request.query_params
    kind, fmt = params.get("kind", ""), params.get("format", "")
    if kind not in KINDS or fmt not in FORMATS:
        return _refused(
            UploadError(
                f"kind={kind!r}, format={fmt!r}: an upload is contacts or events, CSV or Parquet",
                hint="choose the file on the Import page",
                status=400,
            )
        )
    store = imports(page)
    staged = store.get(params.get("staged", ""), page.user.id) if params.get("staged") else None
    if staged is None:
        staged = store.create(page.user.id)
    name = display_name(unquote(request.headers.get("x-file-name", "")), f"{kind} file")
    limit = page.svc.settings.max_import_bytes
    path = staged.folder / f"{kind}{FORMATS[fmt]}"  # our name, never the user's
    sink = UploadSink(path, fmt, limit, name)
    try:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise sink.too_big()
        async for chunk in request.stream():
            sink.write(chunk)
        size = sink.finish()
    except UploadError as exc:
        staged.files.pop(kind, None)
        return _refused(exc)
    finally:
        sink.close()
    staged.files[kind] = StagedFile(kind, path, name, size)
    return JSONResponse({"staged": staged.token, "kind": kind, "size": size})


def _refused(exc: UploadError) -> JSONResponse:
    return JSONResponse({"problem": _problem(exc)}, status_code=exc.status)


# ---------------------------------------------------------------- the preview
@dataclass
class Column:
    name: str
    taken_as: str


@dataclass
class FilePreview:
    kind: str
    name: str
    size: int
    rows: int = 0
    columns: list[Column] = field(default_factory=list)
    heading: list[str] = field(default_factory=list)
    first: list[list[Any]] = field(default_factory=list)


@dataclass
class Preview:
    files: list[FilePreview]
    problems: list[dict[str, Any]]
    formulas: list[dict[str, Any]]
    repeated_emails: str = "refuse"
    emails_left_out: int = 0


def _columns(path: Any) -> list[str]:
    con = duckdb.connect()
    try:
        cur = con.execute(f"SELECT * FROM {io.source_sql(path)} LIMIT 0")
        return [d[0] for d in cur.description]
    finally:
        con.close()


def _taken_as(kind: str, names: list[str]) -> list[Column]:
    if kind == "contacts":
        idc = next((c for c in io.ID_COLUMNS if c in names), None)
        return [
            Column(
                n,
                "contact id"
                if n == idc
                else "e-mail (links the contact to its account)"
                if n == "email"
                else "property",
            )
            for n in names
        ]
    key = next((c for c in io.EVENT_KEY_COLUMNS if c in names), None)
    core = {"contact_id": "contact id", "type": "event type", "ts": "time (UTC)"}
    return [
        Column(
            n,
            core.get(n)
            or ("event id (counted once)" if n == key else None)
            or ("refused: give each attribute its own column" if n == "attributes" else None)
            or "attribute",
        )
        for n in names
    ]


def preview(staged: Staged, max_clock_skew: float, repeated_emails: str = "refuse") -> Preview:
    """What the import will read, and every problem its checks find (nothing written).
    ``repeated_emails`` as the import takes it: ``refuse``, or ``first`` (an e-mail on
    several rows stays on the first and is left off the others)."""
    contacts, events = staged.path("contacts"), staged.path("events")
    files = [
        FilePreview(k, staged.files[k].name, staged.files[k].size)
        for k in KINDS
        if k in staged.files
    ]
    problems: list[DataError] = []
    formulas: list[DataError] = []
    try:
        for fp in files:
            fp.columns = _taken_as(fp.kind, _columns(staged.files[fp.kind].path))
        inputs = read_files(contacts, events)
    except DataError as exc:
        return Preview(files, [_problem(exc, staged)], [])
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        error = DataError(f"cannot read the file: {message}", hint="check the file's format")
        return Preview(files, [_problem(error, staged)], [])
    left_out = 0
    try:
        left_out = check_files(
            inputs,
            contacts,
            events,
            now=utcnow(),
            max_clock_skew=max_clock_skew,
            repeated_emails=repeated_emails,
            problems=problems,
        )
        for fp in files:
            table = fp.kind
            fp.rows = inputs.n_contacts if table == "contacts" else inputs.n_events
            names = [d[0] for d in inputs.con.execute(f"SELECT * FROM {table} LIMIT 0").description]
            shown = ", ".join(
                "strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')"
                if table == "events" and n == "ts"
                else f"CAST({quote(n)} AS VARCHAR)"
                for n in names
            )  # as text, times in UTC: as they will be stored
            fp.heading = names
            fp.first = [
                list(r)
                for r in inputs.con.execute(
                    f"SELECT {shown} FROM {table} ORDER BY rowid LIMIT {PREVIEW_ROWS}"
                ).fetchall()
            ]
            texts = (
                ["id", *inputs.properties]
                if table == "contacts"
                else ["contact_id", "event_id", "type", *inputs.attributes]
            )
            formulas += find_formulas(inputs, table, texts, staged.files[fp.kind].name)
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        problems.append(DataError(f"cannot read the file: {message}", hint="check the file"))
    finally:
        inputs.con.close()
    return Preview(
        files,
        [_problem(p, staged) for p in problems],
        [_problem(p, staged) for p in formulas],
        repeated_emails,
        left_out,
    )


@router.get("/import/{token}", response_class=HTMLResponse)
def preview_page(token: str, page: Page = Depends(current)) -> Response:
    staged = _staged(page, token)
    if staged.job is not None:
        return page.render("import_preview.html", shown=None, **_status(staged))
    repeated = _repeated(page.request.query_params.get("repeated_emails"))
    shown = preview(staged, page.svc.settings.max_clock_skew, repeated)
    return page.render("import_preview.html", staged=staged, shown=shown, job=None)


def _repeated(raw: str | None) -> str:
    return "first" if raw == "first" else "refuse"


def _status(staged: Staged) -> dict[str, Any]:
    job = staged.job
    error = _problem(job.error, staged) if job is not None and job.error else None
    return {"staged": staged, "job": job, "steps": STEPS, "error": error}


# ---------------------------------------------------------------- the import
def _run(page: Page, staged: Staged, job: Job, repeated_emails: str) -> None:
    def progress(step: str, done: int, total: int) -> None:
        job.step, job.done, job.total = step, done, total

    try:
        report: ImportReport = import_files(
            page.svc,
            staged.path("contacts"),
            staged.path("events"),
            repeated_emails=repeated_emails,
            actor=page.user.actor,
            progress=progress,
        )
        job.report, job.state = report, "done"
    except DataError as exc:
        job.error, job.state = exc, "failed"
    except LeadscoreError as exc:
        job.error, job.state = DataError(str(exc)), "failed"
    except Exception as exc:  # a bug: the page says so, the log keeps the traceback
        logging.getLogger(__name__).exception("import failed")
        job.message = f"the import stopped on an unexpected error ({type(exc).__name__})"
        job.state = "failed"
    finally:
        staged.remove()  # the files, not the job: the page still shows how it ended


@router.post("/import/{token}/run", response_class=HTMLResponse)
async def run(token: str, page: Page = Depends(current)) -> Response:
    staged = _staged(page, token)
    data = await form(page)
    if staged.job is None:
        repeated = _repeated(data.get("repeated_emails"))
        shown = preview(staged, page.svc.settings.max_clock_skew, repeated)
        if shown.problems:
            raise PageError(
                422, "The files have problems (see the preview): fix them and upload again."
            )
        if shown.formulas and data.get("formulas") != "keep":
            raise PageError(
                422,
                "Some cells look like spreadsheet formulas: tick 'keep formula-looking cells "
                "as text' to import them as they are, or remove them from the file.",
            )
        job = imports(page).start(staged)
        if job is None:
            raise PageError(409, "Another import is running: wait for it to finish, then retry.")
        threading.Thread(target=_run, args=(page, staged, job, repeated), daemon=True).start()
    return page.render("_import_status.html", **_status(staged))


@router.get("/import/{token}/status", response_class=HTMLResponse)
def status(token: str, page: Page = Depends(current)) -> Response:
    staged = _staged(page, token)
    if staged.job is None:
        raise PageError(404, "This import has not started: open its preview and press Import.")
    return page.render("_import_status.html", **_status(staged))
