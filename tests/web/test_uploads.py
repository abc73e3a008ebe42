"""The import page's upload checks: hostile files are refused with the place and the fix,
streamed to a file of ours, and only the uploader reaches them; the preview lists every
problem the import's checks find."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from leadscore.errors import DataError
from leadscore.service.import_checks import check_files
from leadscore.service.importing import read_files
from leadscore.store import tables as T
from leadscore.web.uploads import (
    Imports,
    UploadError,
    UploadSink,
    display_name,
    formula_cells,
)

from .helpers import NOW, client, sign_in, tiny_service

GOOD = b"id,email,company\nn1,n1@acme.example,Acme\nn2,n2@beta.example,Beta\n"


def _sink(tmp_path: Path, fmt: str = "csv", limit: int = 10_000) -> UploadSink:
    return UploadSink(tmp_path / f"contacts.{fmt}", fmt, limit, "leads.csv")


def _send(sink: UploadSink, data: bytes, chunk: int) -> int:
    for start in range(0, len(data), chunk):
        sink.write(data[start : start + chunk])
    return sink.finish()


@pytest.mark.parametrize("chunk", [1, 2, 7, 4096])
def test_a_good_csv_is_written_whole_whatever_the_chunks(tmp_path, chunk):
    text = "id,last_name\nn1,Müller\nn2,Ōtsuka\nn3,Zoë 😀\n".encode()
    sink = _sink(tmp_path)
    assert _send(sink, b"\xef\xbb\xbf" + text, chunk) == len(text)
    # the UTF-8 byte-order mark is dropped, every multi-byte character kept
    assert (tmp_path / "contacts.csv").read_bytes() == text


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_a_nul_byte_is_refused_with_its_line(tmp_path, chunk):
    sink = _sink(tmp_path)
    with pytest.raises(UploadError) as err:
        _send(sink, b"id,company\nn1,Acme\nn2,Be\x00ta\n", chunk)
    assert "NUL byte on line 3" in str(err.value)
    assert err.value.row == 2  # rows counted without the header
    assert "UTF-8" in err.value.hint
    assert not (tmp_path / "contacts.csv").exists()  # nothing of it is kept


@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_latin1_text_is_refused_with_its_line_and_bytes(tmp_path, chunk):
    sink = _sink(tmp_path)
    with pytest.raises(UploadError) as err:
        _send(sink, "id,city\nn1,Paris\nn2,Besançon\n".encode("latin-1"), chunk)
    assert "line 3 is not UTF-8 text (byte e7)" in str(err.value)
    assert "CSV UTF-8" in err.value.hint


def test_utf16_and_a_cut_character_are_refused(tmp_path):
    with pytest.raises(UploadError, match="UTF-16 text, not UTF-8"):
        _send(_sink(tmp_path), "id\nn1\n".encode("utf-16"), 4096)
    with pytest.raises(UploadError, match="ends inside a UTF-8 character"):
        _send(_sink(tmp_path), "id\nZoë".encode()[:-1], 4096)


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(UploadError, match="the file is empty"):
        _sink(tmp_path).finish()


def test_the_size_limit_stops_the_upload_as_it_comes(tmp_path):
    sink = _sink(tmp_path, limit=50)
    with pytest.raises(UploadError) as err:
        _send(sink, GOOD * 3, 16)
    assert err.value.status == 413
    assert "max_import_bytes" in err.value.hint
    assert sink.received <= 50 + 16  # it stopped at the chunk that went over
    assert not (tmp_path / "contacts.csv").exists()


def test_a_parquet_file_must_be_one(tmp_path):
    good = tmp_path / "real.parquet"
    pq.write_table(pa.table({"id": ["n1"], "company": ["Acme"]}), good)
    data = good.read_bytes()
    assert _send(_sink(tmp_path, "parquet", 10**6), data, 3) == len(data)
    with pytest.raises(UploadError, match=r"not a Parquet file.*looks like text"):
        _send(_sink(tmp_path, "parquet"), GOOD, 4096)
    with pytest.raises(UploadError, match="not a Parquet file"):  # cut short: no closing mark
        _send(_sink(tmp_path, "parquet", 10**6), data[:-10], 4096)
    with pytest.raises(UploadError, match="a Parquet file, not CSV"):
        _send(_sink(tmp_path), data, 4096)


def test_the_browser_name_is_only_shown():
    assert display_name("../../etc/passwd", "x") == "passwd"
    assert display_name("C:\\Users\\me\\leads.csv", "x") == "leads.csv"
    assert display_name("\x00\n", "contacts file") == "contacts file"


def test_formula_looking_cells_are_named_but_numbers_and_phones_are_not(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "id,company,phone,note\n"
        'n1,=HYPERLINK("http://x"),+33 1 23 45 67 89,-12.5\n'
        "n2,Acme,-,@SUM(A1)\n"
        "n3,+cmd|' /C calc'!A0,(555) 010-0000,fine\n"
    )
    inputs = read_files(path, None)
    try:
        found = formula_cells(inputs, "contacts", ["id", *inputs.properties], "c.csv")
    finally:
        inputs.con.close()
    by_column = {p.column: p for p in found}
    assert set(by_column) == {"company", "note"}
    assert by_column["company"].row == 1 and "2 cells: rows 1, 3" in by_column["company"].detail
    assert by_column["note"].row == 2


def test_the_checks_can_list_every_problem_instead_of_the_first(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "id,email\nok,ok@acme.example\nbad id,x@acme.example\nn3,same@acme.example\n"
        "n4,same@acme.example\nbad/id,\n"
    )
    inputs = read_files(path, None)
    problems: list = []
    try:
        check_files(inputs, path, None, now=NOW, max_clock_skew=60, problems=problems)
    finally:
        inputs.con.close()
    assert [(p.row, p.column) for p in problems] == [(2, "id"), (4, "email")]
    assert "2 rows like it: 2, 5" in problems[0].detail
    assert "rows 3, 4" in problems[1].detail


def test_staged_uploads_belong_to_their_uploader_and_expire(tmp_path):
    imports = Imports(str(tmp_path))
    staged = imports.create(owner=1)
    assert staged.folder.parent == tmp_path and staged.folder.is_dir()
    assert imports.get(staged.token, 1) is staged
    assert imports.get(staged.token, 2) is None  # another user
    assert imports.get("../" + staged.token, 1) is None
    imports.expire(now=staged.created + 3601)
    assert imports.get(staged.token, 1) is None and not staged.folder.exists()


# ---------------------------------------------------------------- through the app
@pytest.fixture
def app_client(tmp_path):
    svc = tiny_service(f"sqlite:///{tmp_path / 's.db'}")
    svc.settings = svc.settings.with_(max_import_bytes=5000, max_body_bytes=2048)
    c = client(svc)
    yield c, svc
    svc.store.dispose()


def _upload(c, csrf, body, *, kind="contacts", fmt="csv", name="leads.csv", staged=None):
    query = f"kind={kind}&format={fmt}" + (f"&staged={staged}" if staged else "")
    return c.post(
        f"/import/upload?{query}",
        content=body,
        headers={"x-csrf-token": csrf, "x-file-name": name},
    )


def test_the_upload_needs_the_editor_role_and_the_token(app_client):
    c, _ = app_client
    csrf = sign_in(c, "viewer")
    assert c.get("/import").status_code == 403
    assert _upload(c, csrf, GOOD).status_code == 403
    csrf = sign_in(c, "editor")
    assert _upload(c, "wrong", GOOD).status_code == 403
    assert _upload(c, csrf, GOOD).status_code == 200


def test_the_upload_is_ours_to_name_and_over_the_limit_is_refused(app_client):
    c, _ = app_client
    csrf = sign_in(c, "editor")
    r = _upload(c, csrf, GOOD, name="..%2F..%2Fstore.db")
    assert r.status_code == 200
    token = r.json()["staged"]
    staged = c.app.state.imports.get(token, 2)
    assert [p.name for p in staged.folder.iterdir()] == ["contacts.csv"]
    assert staged.files["contacts"].name == "store.db"  # shown only
    too_big = _upload(c, csrf, GOOD * 120)  # 5,640 bytes > 5,000
    assert too_big.status_code == 413
    assert "max_import_bytes" in too_big.json()["problem"]["hint"]
    # the service's request limit (max_body_bytes, 2,048 here) is not the import's
    big = b"id,company\n" + b"".join(b"n%d,Acme\n" % i for i in range(300))
    assert 2048 < len(big) < 5000
    assert _upload(c, csrf, big).status_code == 200
    assert c.post("/v1/contacts", content=big).status_code == 413


def test_the_preview_lists_the_problems_and_the_import_writes_nothing(app_client):
    c, svc = app_client
    csrf = sign_in(c, "editor")
    token = _upload(c, csrf, b"id,email\nn1,n1@acme.example\nbad id,\n").json()["staged"]
    page = c.get(f"/import/{token}")
    assert page.status_code == 200
    assert "1 problem: nothing can be imported yet" in page.text
    assert "the contact id &#39;bad id&#39; is not one the service takes" in page.text
    refused = c.post(f"/import/{token}/run", data={"csrf": csrf})
    assert refused.status_code == 422
    with svc.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.contacts)).scalar() == 3
    # someone else's upload is not found
    csrf = sign_in(c, "admin")
    assert c.get(f"/import/{token}").status_code == 404


def _wait(c, token):
    for _ in range(100):
        r = c.get(f"/import/{token}/status", headers={"hx-request": "true"})
        if 'data-testid="import-running"' not in r.text:
            return r
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def test_a_parquet_file_is_previewed_and_imported(app_client, tmp_path):
    c, svc = app_client
    csrf = sign_in(c, "editor")
    path = tmp_path / "leads.parquet"
    table = pa.table(
        {"contact_id": ["pq-1", "pq-2"], "employees": [120, 8], "company": ["A", None]}
    )
    pq.write_table(table, path)
    token = _upload(c, csrf, path.read_bytes(), fmt="parquet", name="leads.parquet").json()[
        "staged"
    ]
    page = c.get(f"/import/{token}")
    assert "2</strong> contacts to import" in page.text
    assert "<td>120</td>" in page.text  # a Parquet number, read as the text it is stored as
    started = c.post(f"/import/{token}/run", data={"csrf": csrf}, headers={"hx-request": "true"})
    assert started.status_code == 200
    done = _wait(c, token)
    assert "2 contacts: 2 new, 0 updated" in done.text
    with svc.store.read() as conn:
        props = dict(
            conn.execute(
                sa.select(T.contacts.c.id, T.contacts.c.properties).where(
                    T.contacts.c.id.in_(["pq-1", "pq-2"])
                )
            ).all()
        )
    assert props["pq-1"]["employees"] == "120" and "company" not in props["pq-2"]
    assert not c.app.state.imports.get(token, 2).folder.exists()  # the upload is removed


def test_the_status_polls_with_a_progress_bar_and_one_import_runs_at_a_time(app_client):
    c, _ = app_client
    csrf = sign_in(c, "editor")
    first = _upload(c, csrf, GOOD).json()["staged"]
    imports = c.app.state.imports
    job = imports.start(imports.get(first, 2))  # as the page starts it, without its thread
    job.step, job.done, job.total = "contacts", 5, 10
    status = c.get(f"/import/{first}/status", headers={"hx-request": "true"}).text
    assert f'hx-get="/import/{first}/status"' in status and 'hx-trigger="load delay' in status
    assert 'max="10" value="5"' in status and "Writing contacts: 5 of 10" in status
    second = _upload(c, csrf, GOOD).json()["staged"]
    refused = c.post(f"/import/{second}/run", data={"csrf": csrf}, headers={"hx-request": "true"})
    assert refused.status_code == 409 and "Another import is running" in refused.text
    job.state = "failed"
    job.error = DataError("the e-mail is taken", source="x", row=3, column="email", hint="fix")
    status = c.get(f"/import/{first}/status", headers={"hx-request": "true"}).text
    assert "hx-get" not in status and "nothing was written" in status
    assert "<td>3</td><td>email</td><td>the e-mail is taken</td><td>fix</td>" in status.replace(
        ' class="num"', ""
    )


def test_a_repeated_email_may_stay_on_its_first_contact(app_client):
    c, svc = app_client
    csrf = sign_in(c, "editor")
    body = b"id,email\nr1,same@acme.example\nr2,same@acme.example\n"
    token = _upload(c, csrf, body).json()["staged"]
    assert "is on more than one contact (rows 1, 2)" in c.get(f"/import/{token}").text
    assert "1 e-mail will be left off" in c.get(f"/import/{token}?repeated_emails=first").text
    run = c.post(
        f"/import/{token}/run",
        data={"csrf": csrf, "repeated_emails": "first"},
        headers={"hx-request": "true"},
    )
    assert run.status_code == 200
    assert "1 e-mails left off contacts" in _wait(c, token).text
    with svc.store.read() as conn:
        emails = dict(
            conn.execute(
                sa.select(T.contacts.c.id, T.contacts.c.email).where(
                    T.contacts.c.id.in_(["r1", "r2"])
                )
            ).all()
        )
    assert emails == {"r1": "same@acme.example", "r2": None}
