"""What a model sent to the service can do to it: nothing but be refused.

A crafted ``model.pkl`` that writes a marker file when unpickled stands for code
execution; alias bombs, deep nesting and huge texts stand for memory and stack
exhaustion. Each is tried through validation (any read key), a new draft and a
publish, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pickle
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadscore.service.core import utcnow
from leadscore.service.predicted import models_root
from leadscore.store import tables as T

from .conftest import make_api
from .helpers import model_yaml


class Exploit:
    """Unpickling it writes ``marker``: what any pickle may do."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


@pytest.fixture
def evil(tmp_path) -> Path:
    """A folder outside the models folder holding a booby-trapped model.pkl."""
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(Exploit(tmp_path / "marker")))
    return folder


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def api(database_url, root):
    yield from make_api(database_url, models_root=str(root))


def declaring(model_dir: str) -> str:
    return model_yaml() + f"predicted:\n  model_dir: {model_dir}\n"


def store_version(api, text: str, name: str = "demo") -> None:
    """A version as the service stored it before model_dir and names were checked."""
    with api.service.store.write() as conn:
        conn.execute(
            sa.insert(T.model_versions).values(
                name=name,
                version=1,
                yaml=text,
                status="draft",
                options={},
                author="old",
                created_at=utcnow(),
            )
        )


def test_the_pickle_runs_when_loaded(evil, tmp_path):
    pickle.loads((evil / "model.pkl").read_bytes())  # the trap works: the tests can fail
    assert (tmp_path / "marker").exists()
    (tmp_path / "marker").unlink()


def test_validate_loads_nothing_a_caller_names(api, evil, tmp_path):
    for name in (str(evil), f"../{evil.name}", f"{evil.parent}/nowhere", "~/x", ".hidden"):
        r = api.post("/v1/models/validate", {"yaml": declaring(name)}, scope="read")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["valid"] is False, name
        (problem,) = body["problems"]
        assert problem["path"] == "predicted.model_dir"
        assert (problem["line"], problem["column"]) == (len(model_yaml().splitlines()) + 2, 3)
        assert "relative path" in problem["message"] and "'..'" in problem["message"]
    assert not (tmp_path / "marker").exists()


def test_validate_does_not_load_a_model_inside_the_root_either(api, root, evil, tmp_path):
    (root / "trap").mkdir()
    (root / "trap" / "model.pkl").write_bytes((evil / "model.pkl").read_bytes())
    r = api.post("/v1/models/validate", {"yaml": declaring("trap")}, scope="read")
    assert r.json()["valid"] is True
    assert not (tmp_path / "marker").exists()


def test_a_draft_never_loads_from_outside_the_root(api, root, evil, tmp_path):
    (root / "link").symlink_to(evil, target_is_directory=True)
    (root / "pkl-link").mkdir()
    (root / "pkl-link" / "model.pkl").symlink_to(evil / "model.pkl")
    answers = {}
    for name in (str(evil), f"../{evil.name}", "link", "pkl-link", "absent"):
        r = api.post("/v1/models", {"yaml": declaring(name)})
        assert r.status_code == 422, (name, r.text)
        (problem,) = r.json()["problems"]
        assert problem["path"] == "predicted.model_dir"
        assert str(root.parent) not in r.text.replace(name, "NAME")  # only the name given
        answers[name] = problem["message"].replace(repr(name), "NAME")
    assert not (tmp_path / "marker").exists()
    # a link leading out, and a name with nothing behind it, get the same answer
    assert answers["link"] == answers["pkl-link"] == answers["absent"]
    assert "no trained model NAME in the service's models folder" in answers["absent"]


@pytest.mark.parametrize("how", ["absolute", "link"])
def test_publishing_a_stored_version_never_loads_from_outside_the_root(
    api, root, evil, tmp_path, how
):
    (root / "link").symlink_to(evil, target_is_directory=True)
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    name = str(evil) if how == "absolute" else "link"
    store_version(api, declaring(name))
    r = api.post("/v1/models/demo/versions/1/publish")
    assert r.status_code == 422, r.text
    (problem,) = r.json()["problems"]
    assert problem["path"] == "predicted.model_dir"
    assert problem["message"].endswith(f"no trained model {name!r} in the service's models folder")
    assert str(root.parent) not in r.text.replace(name, "NAME")
    assert not (tmp_path / "marker").exists()
    assert api.get("/v1/models").json()["items"][0]["published"] is None
    assert api.get("/v1/contacts/c1").json()["scores"] == []


def test_the_models_root_defaults_next_to_the_sqlite_file(tmp_path, monkeypatch):
    assert models_root("", f"sqlite:///{tmp_path}/data/store.db") == tmp_path / "data" / "models"
    monkeypatch.chdir(tmp_path)
    assert models_root("", "postgresql://u@h/db") == tmp_path / "models"
    assert models_root("", "sqlite://") == tmp_path / "models"
    assert models_root(str(tmp_path / "m"), "sqlite:///x.db") == tmp_path / "m"
    for api in make_api(f"sqlite:///{tmp_path}/store.db"):
        assert api.service.models.models_root == tmp_path / "models"


def test_a_model_name_that_cannot_be_in_a_url_is_refused_at_validation(api):
    for name in ("team/fit", "a b", "..", "x?y", "é"):
        text = model_yaml().replace("name: demo\n", f"name: {name!r}\n", 1)
        body = api.post("/v1/models/validate", {"yaml": text}, scope="read").json()
        assert body["valid"] is False, name
        (problem,) = body["problems"]
        assert (problem["path"], problem["line"], problem["column"]) == ("name", 1, 1)
        assert "letters (A-Z, a-z), digits, '.', '_' and '-'" in problem["message"]
        r = api.post("/v1/models", {"yaml": text})
        assert r.status_code == 422, r.text
    assert api.get("/v1/models").json()["items"] == []
    ok = model_yaml().replace("name: demo\n", "name: B2B_saas.v2-final\n", 1)
    assert api.publish_model(ok)["status"] == "published"


def bomb(levels: int = 9) -> str:
    lines = [model_yaml(), 'lol0: &l0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_with_little_memory(api):
    tracemalloc.start()
    try:
        r = api.post("/v1/models/validate", {"yaml": bomb()}, scope="read")
        draft = api.post("/v1/models", {"yaml": bomb()})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000_000, peak  # 10**9 strings once expanded; a few MB in fact
    (problem,) = r.json()["problems"]
    assert "aliases add more than 10000 values" in problem["message"]
    assert problem["line"] > len(model_yaml().splitlines())
    assert draft.status_code == 422 and draft.json()["problems"] == [problem]


@pytest.mark.parametrize(
    "text",
    ["[" * 50_000, "{a: " * 50_000, "x:\n" + "- " * 20_000],
    ids=["brackets", "braces", "dashes"],
)
def test_deep_nesting_is_a_located_problem_not_a_5xx(api, text):
    r = api.post("/v1/models/validate", {"yaml": text}, scope="read")
    assert r.status_code == 200, r.text
    (problem,) = r.json()["problems"]
    assert "nested more than 64 levels" in problem["message"] and problem["line"] is not None
    draft = api.post("/v1/models", {"yaml": text})
    assert draft.status_code == 422 and draft.json()["problems"] == [problem]


def test_model_size_is_capped_by_the_max_model_bytes_setting(database_url):
    text = model_yaml() + "description: " + "x" * 2000 + "\n"
    for api in make_api(database_url, max_model_bytes=2000):
        body = api.post("/v1/models/validate", {"yaml": text}, scope="read").json()
        (problem,) = body["problems"]
        size = len(text.encode())
        assert problem["message"] == f"the model is {size} bytes; the limit is 2000 bytes"
        assert api.post("/v1/models", {"yaml": text}).status_code == 422
    for api in make_api(database_url, max_model_bytes=size):
        assert api.post("/v1/models/validate", {"yaml": text}).json()["valid"] is True


def test_a_version_stored_before_the_name_rule_keeps_scoring(api):
    text = model_yaml().replace("name: demo\n", "name: Demo model\n", 1)
    store_version(api, text, "Demo model")
    r = api.post("/v1/models/Demo%20model/versions/1/publish")
    assert r.status_code == 200, r.text
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    assert api.score("c1", "Demo model")["total"] == 20.0
    # a new draft of it needs an allowed name
    assert api.post("/v1/models", {"yaml": text}).status_code == 422
