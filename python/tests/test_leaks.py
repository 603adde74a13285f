"""Leak hunt: PHI logged and served through every path a FastAPI service
has, under uvicorn as users run it; no raw value may reach the output."""

import json
import logging
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

# Values a test elsewhere has shown leaking, each in the form that leaked.
RAW = [
    "219-09-9999",
    "219099999",
    "maria.lopez@gmail.com",
    "Quixote",
    "0048213",
    "1958-09-13",
]

APP = textwrap.dedent(
    """
    import datetime, logging, sys
    import uvicorn
    from fastapi import FastAPI
    import phisafe.fastapi, phisafe.logging

    app = FastAPI()
    log = logging.getLogger("app")

    @app.get("/search")
    def search(ssn: str, email: str):
        log.warning("search ssn=%s email=%s", ssn, email)
        return {"n": 0}

    @app.get("/boom")
    def boom():
        raise ValueError("invalid ssn 219-09-9999 for maria.lopez@gmail.com")

    @app.post("/echo/{who}")
    def echo(who: str, body: dict):
        log.warning("echo", extra={"last_name": "Quixote", "mrn": "0048213"})
        log.warning("dob %s", datetime.date(1958, 9, 13))
        return {"ok": True, "patient": body}

    phisafe.fastapi.install(app)

    if __name__ == "__main__":
        kw = {}
        if sys.argv[2] == "config":
            kw["log_config"] = phisafe.logging.uvicorn_log_config()
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), **kw)
    """
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize("mode", ["default", "config"])
def test_uvicorn_run_leaks_nothing(tmp_path, mode):
    """uvicorn.run(app) replaces the handlers install() filtered (default
    mode); with uvicorn_log_config() it gets filtered ones (config)."""
    script = tmp_path / "app.py"
    script.write_text(APP)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        q = urllib.parse.urlencode({"ssn": "219-09-9999", "email": "maria.lopez@gmail.com"})
        assert request(f"{base}/search?{q}")[0] == 200
        assert request(f"{base}/boom")[0] == 500
        status, body = request(
            f"{base}/echo/maria.lopez@gmail.com", {"ssn": "219099999", "last_name": "Quixote"}
        )
        assert status == 200
        for raw in RAW:
            assert raw not in body, body
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    # The requests did reach the logs, redacted.
    assert "GET /search?ssn=" in out and "Exception in ASGI application" in out, out
    assert "PHI in request body of /echo/[EMAIL]" in out, out
    for raw in RAW:
        assert raw not in out, out


# Each value in the form that leaked, with the key or sentence that gives
# it away; logged through every in-process path below.
TABLE = [
    ("ssn", "219099999"),
    ("ssn", "219-09-9999"),
    ("email", "maria.lopez@gmail.com"),
    ("last_name", "Quixote"),
    ("mrn", "0048213"),
    ("dob", "1958-09-13"),
]


class _JsonFormatter(logging.Formatter):
    # Formats exc_info itself, as JSON formatters do.
    def format(self, record):
        doc = {"msg": record.getMessage(), **{k: str(v) for k, v in vars(record).items() if k in dict(TABLE)}}
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc)


def test_every_in_process_path_leaks_nothing(capsys):
    import io

    import structlog

    import phisafe.logging as plog

    out = io.StringIO()
    plain = logging.StreamHandler(out)
    as_json = logging.StreamHandler(out)
    as_json.setFormatter(_JsonFormatter())
    logger = logging.getLogger("test.leaks")
    logger.handlers[:] = [plain, as_json]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    plog.install(["test.leaks"])
    # A handler added after install(), as uvicorn and libraries do.
    logger.addHandler(logging.StreamHandler(out))
    console = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[plog.RedactingProcessor(), structlog.dev.ConsoleRenderer(colors=False)],
    )
    rendered = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[plog.RedactingProcessor(), structlog.processors.JSONRenderer()],
    )
    for key, value in TABLE:
        logger.info(f"{key}={value}")
        logger.info(key + "=%s", value)
        logger.info("lookup", extra={key: value})
        console.info("lookup", **{key: value})
        rendered.info("lookup", **{key: value})
        try:
            raise ValueError(f"invalid {key}: {value}")
        except ValueError:
            logger.exception("failed")
            console.exception("failed")
            rendered.exception("failed")
    text = out.getvalue() + capsys.readouterr().err
    assert text.count("lookup") >= 3 * len(TABLE)
    for _, value in TABLE:
        assert value not in text, value
