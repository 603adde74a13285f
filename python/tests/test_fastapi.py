"""phisafe.fastapi through FastAPI's TestClient, and the example app."""

import json
import logging
import sqlite3
import subprocess
import sys
import pathlib

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from phisafe.fastapi import PHIMiddleware, install

HERE = pathlib.Path(__file__).resolve().parent
SSN = "219-09-9999"
EMAIL = "jo@clinic.example"


class Body(BaseModel):
    note: str
    age: int


def make_app(**kw):
    app = FastAPI()
    install(app, **kw)

    @app.get("/json")
    def as_json():
        return {"patient": {"ssn": SSN, "contact": [EMAIL]}, "count": 2}

    @app.get("/text")
    def as_text():
        return PlainTextResponse(f"ssn {SSN}")

    @app.get("/stream")
    def stream():
        def parts():
            yield b'{"ssn": "'
            yield SSN.encode() + b'"}'

        return StreamingResponse(parts(), media_type="application/json")

    @app.get("/big")
    def big():
        return {"ssn": SSN, "pad": "x" * 5000}

    @app.post("/echo")
    def echo(b: Body):
        return {"ok": True, "len": len(b.note)}

    return app


def test_json_responses_are_redacted_and_others_untouched():
    client = TestClient(make_app(max_body=4096))
    r = client.get("/json")
    assert r.json() == {"patient": {"ssn": "[SSN]", "contact": ["[EMAIL]"]}, "count": 2}
    assert int(r.headers["content-length"]) == len(r.content)
    assert client.get("/text").text == f"ssn {SSN}"
    assert SSN in client.get("/stream").text  # streaming is never buffered
    assert SSN in client.get("/big").text  # over max_body


def test_request_bodies_are_logged_by_path_without_values(caplog):
    client = TestClient(make_app())
    with caplog.at_level(logging.WARNING, logger="phisafe.fastapi"):
        r = client.post("/echo", json={"note": f"mail {EMAIL}", "age": 40})
    assert r.status_code == 200 and r.json()["len"] == len(f"mail {EMAIL}")
    logged = " ".join(rec.getMessage() for rec in caplog.records)
    assert "EMAIL@/note" in logged and EMAIL not in logged


def test_request_redaction_mode():
    client = TestClient(make_app(requests="redact"))
    r = client.post("/echo", json={"note": f"mail {EMAIL}", "age": 40})
    assert r.json()["len"] == len("mail [EMAIL]")


def test_validation_errors_do_not_echo_input():
    client = TestClient(make_app())
    r = client.post("/echo", json={"note": f"ssn {SSN}", "age": f"ssn {SSN}"})
    assert r.status_code == 422
    assert SSN not in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "age"]


def test_bad_mode_is_refused():
    with pytest.raises(ValueError):
        PHIMiddleware(FastAPI(), requests="shred")


def test_example_patients_app(tmp_path):
    sys.path.insert(0, str(HERE.parent / "examples"))
    from patients_app import make_app as patients

    repo = HERE.parents[1]
    cli = repo / "target" / "debug" / "phisafe"
    subprocess.run([str(cli), "keys", "init", "--key-file", str(tmp_path / "kek")], check=True, capture_output=True)
    app = patients(f"file:{tmp_path / 'kek'}", tmp_path / "keyring.json", tmp_path / "audit.jsonl", tmp_path / "db.sqlite")
    with TestClient(app) as client:
        a = client.post("/patients", json={"name": "Zed Quixote", "ssn": SSN}, headers={"X-Actor": "dr.who"})
        b = client.post("/patients", json={"name": "Ann Okonkwo", "ssn": "078-05-1120"}, headers={"X-Actor": "dr.who"})
        assert a.status_code == 201 and b.status_code == 201
        pid = a.json()["id"]
        got = client.get(f"/patients/{pid}", headers={"X-Actor": "nurse.jane"})
        assert got.json()["ssn_last4"] == "9999"
        assert client.get("/patients", params={"ssn": "219 09 9999"}, headers={"X-Actor": "billing"}).json() == [pid]
        assert client.get("/patients", params={"ssn": "111-22-3333"}, headers={"X-Actor": "billing"}).json() == []
        assert client.get(f"/patients/{pid}").status_code == 422  # no actor header
    stored = sqlite3.connect(tmp_path / "db.sqlite").execute("SELECT ssn, ssn_idx FROM patients").fetchall()
    assert all(s.startswith("psf:") and SSN not in s for s, _ in stored)
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    reads = [r for r in records if r["action"] == "decrypt" and r["actor"] == "nurse.jane"]
    assert reads and reads[0]["row"] == str(pid) and reads[0]["outcome"] == "ok"
    assert not any(SSN in line for line in (tmp_path / "audit.jsonl").read_text().splitlines())


def test_lifespan_and_depends_give_the_scanner():
    from fastapi import Depends

    from phisafe import Scanner
    from phisafe.fastapi import get_scanner, lifespan

    app = FastAPI(lifespan=lifespan(scanner=lambda: Scanner(entities=["SSN"])))

    @app.get("/count")
    def count(text: str, scanner: Scanner = Depends(get_scanner)):
        return len(scanner.scan(text))

    with TestClient(app) as client:
        assert client.get("/count", params={"text": f"{SSN} {EMAIL}"}).json() == 1
