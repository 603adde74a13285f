"""phisafe.fastapi through FastAPI's TestClient, and the example app."""

import gzip
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import pathlib

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, StreamingResponse
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

    @app.get("/html")
    def as_html():
        return HTMLResponse(f"<p>ssn {SSN}</p>")

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


def test_json_responses_are_redacted_and_others_untouched(caplog):
    client = TestClient(make_app(max_body=4096))
    r = client.get("/json")
    assert r.json() == {"patient": {"ssn": "[SSN]", "contact": ["[EMAIL]"]}, "count": 2}
    assert int(r.headers["content-length"]) == len(r.content)
    r = client.get("/text")
    assert r.text == "ssn [SSN]" and int(r.headers["content-length"]) == len(r.content)
    # HTML is left alone: a replacement could land inside markup.
    assert SSN in client.get("/html").text
    # Streamed JSON within max_body is read whole.
    assert client.get("/stream").json() == {"ssn": "[SSN]"}
    # Over max_body: sent as it is, and said so.
    with caplog.at_level(logging.WARNING, logger="phisafe.fastapi"):
        assert SSN in client.get("/big").text
    assert "response body of /big not scanned for PHI (larger than max_body)" in caplog.text


def test_unscanned_bodies_can_be_blocked_or_passed_quietly(caplog):
    blocked = TestClient(make_app(max_body=4096, on_unscanned="block"))
    r = blocked.get("/big")
    assert r.status_code == 500 and SSN not in r.text
    r = blocked.post("/echo", json={"note": "x" * 5000, "age": 1})
    assert r.status_code == 413
    quiet = TestClient(make_app(max_body=4096, on_unscanned="pass"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="phisafe.fastapi"):
        assert SSN in quiet.get("/big").text
    assert "not scanned" not in caplog.text
    with pytest.raises(ValueError, match="on_unscanned"):
        PHIMiddleware(FastAPI(), on_unscanned="ignore")


def test_request_bodies_are_logged_by_path_without_values(caplog):
    client = TestClient(make_app())
    with caplog.at_level(logging.WARNING, logger="phisafe.fastapi"):
        r = client.post("/echo", json={"note": f"mail {EMAIL}", "age": 40})
    assert r.status_code == 200 and r.json()["len"] == len(f"mail {EMAIL}")
    logged = " ".join(rec.getMessage() for rec in caplog.records)
    assert "EMAIL@/note" in logged and EMAIL not in logged


def test_gzip_request_bodies_are_read(caplog):
    client = TestClient(make_app())
    body = gzip.compress(json.dumps({"note": f"mail {EMAIL}", "age": 40}).encode())
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    with caplog.at_level(logging.WARNING, logger="phisafe.fastapi"):
        # The app cannot read gzip itself (FastAPI does not decompress),
        # but the body was scanned before it got there.
        client.post("/echo", content=body, headers=headers)
    assert "EMAIL@/note" in caplog.text and EMAIL not in caplog.text
    bomb = gzip.compress(b"[" + b"0," * 2_000_000 + b"0]")
    with caplog.at_level(logging.WARNING, logger="phisafe.fastapi"):
        client.post("/echo", content=bomb, headers=headers)
    assert "gzip body larger than max_body when decompressed" in caplog.text


def test_request_redaction_mode_is_refused():
    # Endpoints handed "[SSN]" fail their own validation.
    with pytest.raises(ValueError, match="redact what they log"):
        PHIMiddleware(FastAPI(), requests="redact")


def test_gzip_middleware_added_before_install():
    from fastapi.middleware.gzip import GZipMiddleware

    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=10)
    install(app)

    @app.get("/json")
    def as_json():
        return {"ssn": SSN, "pad": "y" * 200}

    r = TestClient(app).get("/json", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.json() == {"ssn": "[SSN]", "pad": "y" * 200}  # httpx decompressed it
    assert int(r.headers["content-length"]) < 100


def test_ndjson_streams_are_redacted_line_by_line():
    app = FastAPI()
    install(app)

    @app.get("/rows")
    def rows():
        def lines():
            yield json.dumps({"ssn": SSN}).encode() + b"\n" + b'{"mail": "'
            yield EMAIL.encode() + b'"}\n'
            yield b"not json " + SSN.encode() + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    r = TestClient(app).get("/rows")
    assert r.text.splitlines() == ['{"ssn":"[SSN]"}', '{"mail":"[EMAIL]"}', "not json [SSN]"]


def test_install_uses_the_given_scanner_everywhere():
    from phisafe import Scanner

    only_email = Scanner(entities=["EMAIL"])
    app = FastAPI()
    install(app, scanner=only_email)

    @app.get("/json")
    def as_json():
        return {"note": f"{SSN} {EMAIL}"}

    assert TestClient(app).get("/json").json() == {"note": f"{SSN} [EMAIL]"}
    # Records are redacted with it too (a handler added after install).
    stream = io.StringIO()
    logger = logging.getLogger("test.fastapi.scanner")
    logger.addHandler(logging.StreamHandler(stream))
    logger.propagate = False
    logger.warning("%s %s", SSN, EMAIL)
    assert stream.getvalue() == f"{SSN} [EMAIL]\n"


def test_validation_errors_do_not_echo_input():
    client = TestClient(make_app())
    r = client.post("/echo", json={"note": f"ssn {SSN}", "age": f"ssn {SSN}"})
    assert r.status_code == 422
    assert SSN not in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "age"]


def test_validation_errors_withhold_keys_that_are_data():
    app = FastAPI()
    install(app)

    @app.post("/scores")
    def scores(body: dict[str, int]):
        return body

    r = TestClient(app).post("/scores", json={"Maria Lopez": "high", EMAIL: "x", "ok_key": "y"})
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["detail"]]
    assert "Maria Lopez" not in r.text and EMAIL not in r.text
    assert ["body", "[KEY]"] in locs and ["body", "ok_key"] in locs


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


WORKERS_APP = """
import os
import phisafe
from fastapi import Depends, FastAPI
from phisafe.fastapi import get_cipher, install, lifespan

def cipher():
    return phisafe.FieldCipher(
        "file:" + os.environ["KEK"], os.environ["RING"], os.environ["AUDIT"], allow_all=True
    )

app = FastAPI(lifespan=lifespan(cipher=cipher))
install(app)

@app.get("/seal")
def seal(c: phisafe.FieldCipher = Depends(get_cipher)):
    env = c.encrypt_phi("219-09-9999", scope="s", row="1", actor="api", purpose="test")
    return {"pid": os.getpid(), "back": c.decrypt_phi(env, scope="s", row="1", actor="api", purpose="test")[-4:]}
"""


def test_two_uvicorn_workers_share_a_keyring_with_an_audit_log_each(tmp_path):
    import socket
    import time
    import urllib.request

    (tmp_path / "workers_app.py").write_text(WORKERS_APP)
    cli = HERE.parents[1] / "target" / "debug" / "phisafe"
    subprocess.run([str(cli), "keys", "init", "--key-file", str(tmp_path / "kek")], check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        KEK=str(tmp_path / "kek"),
        RING=str(tmp_path / "keyring.json"),
        AUDIT=str(tmp_path / "audit-{pid}.jsonl"),
        PYTHONPATH=str(tmp_path),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "workers_app:app", "--workers", "2", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        pids = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/seal", timeout=5) as r:
                    got = json.loads(r.read())
                assert got["back"] == "9999"
                pids.add(got["pid"])
            except OSError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "held by another process" not in out and "Traceback" not in out, out
    logs = sorted(tmp_path.glob("audit-*.jsonl"))
    assert len(logs) == 2, out  # one chain per worker, both started
    assert {f"audit-{p}.jsonl" for p in pids} <= {p.name for p in logs}
