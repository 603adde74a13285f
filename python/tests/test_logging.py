"""phisafe.logging: the redacting filter and the structlog processor."""

import io
import json
import logging
import logging.config
import warnings

import pytest

import phisafe.logging as plog

SSN = "219-09-9999"
EMAIL = "jo@clinic.example"


def filtered_logger(fmt):
    """A logger of its own writing through a redacting handler to a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(plog.RedactingFilter())
    logger = logging.getLogger(f"test.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


@pytest.fixture()
def capture():
    return filtered_logger("%(levelname)s %(message)s %(patient)s")


def test_message_args_and_extra_are_redacted(capture):
    logger, stream = capture
    logger.info("ssn %s mail " + EMAIL, SSN, extra={"patient": {"ssn": SSN, "age": 42}})
    out = stream.getvalue()
    assert SSN not in out and EMAIL not in out
    assert "[SSN]" in out and "[EMAIL]" in out and "'age': 42" in out


def test_percent_args_are_redacted_with_their_key(capture):
    logger, stream = capture
    # The key sits in the format string, the value in an argument; an int
    # SSN, a value split over arguments.
    logger.info("ssn=%s mrn=%s", "219099999", "0048213", extra={"patient": None})
    logger.info("ssn=%d", 219099999, extra={"patient": None})
    logger.info("ssn %s-%s-%s", "219", "09", "9999", extra={"patient": None})
    logger.info("last_name=%(ln)s", {"ln": "Quixote"}, extra={"patient": None})
    out = stream.getvalue()
    for raw in ["219099999", "0048213", "219-09-9999", "Quixote"]:
        assert raw not in out, out


def test_extra_fields_are_read_under_their_names():
    logger, stream = filtered_logger("%(message)s %(ssn)s %(last_name)s %(mrn)s")
    logger.warning("lookup", extra={"ssn": 219099999, "last_name": "Quixote", "mrn": "0048213"})
    out = stream.getvalue()
    for raw in ["219099999", "Quixote", "0048213"]:
        assert raw not in out, out


def test_exc_info_is_cleared_once_redacted(capture):
    logger, stream = capture
    try:
        raise ValueError(f"invalid ssn {SSN} for {EMAIL}")
    except ValueError:
        logger.exception("failed", extra={"patient": None})
    # A formatter that renders exc_info itself, after the filter ran.
    record = logging.LogRecord("x", logging.ERROR, "", 0, "m", None, None)
    try:
        raise ValueError(f"invalid ssn {SSN}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    plog.RedactingFilter().filter(record)
    assert record.exc_info is None and SSN not in (record.exc_text or "")
    out = stream.getvalue()
    assert SSN not in out and EMAIL not in out and "ValueError" in out


def test_exceptions_and_stack_info(capture):
    logger, stream = capture
    try:
        raise ValueError(f"bad ssn {SSN}")
    except ValueError:
        logger.exception("failed for %s", EMAIL, extra={"patient": None}, stack_info=True)
    out = stream.getvalue()
    assert SSN not in out and EMAIL not in out
    assert "ValueError: bad ssn [SSN]" in out and "Stack (most recent call last)" in out


def test_uvicorn_access_args_keep_their_shape():
    import uvicorn.logging as uvicorn_logging  # scripts/test.sh installs uvicorn
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(uvicorn_logging.AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    handler.addFilter(plog.RedactingFilter())
    logger = logging.getLogger("test.uvicorn.access")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    # What uvicorn's h11/httptools protocols log for each request.
    logger.info('%s - "%s %s HTTP/%s" %d', "10.1.2.3:5000", "GET", f"/patients?ssn={SSN}&mail={EMAIL}", "1.1", 200)
    out = stream.getvalue()
    assert SSN not in out and EMAIL not in out
    assert "GET /patients?ssn=[SSN]&mail=[EMAIL] HTTP/1.1\" 200" in out
    assert "10.1.2.3" not in out


def test_never_raises_and_withholds_on_failure(capture, monkeypatch):
    logger, stream = capture
    handler = logger.handlers[0]
    flt = handler.filters[0]

    def broken(record):
        raise RuntimeError("boom")

    monkeypatch.setattr(flt, "_redact", broken)
    logger.info("ssn %s and %d", SSN, 7, extra={"patient": SSN})
    out = stream.getvalue()
    assert SSN not in out and plog.FAILED_MARKER in out


def test_dict_config_and_install():
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"phi": {"()": "phisafe.logging.RedactingFilter"}},
            "handlers": {
                "mem": {"class": "logging.StreamHandler", "stream": stream, "filters": ["phi"]}
            },
            "loggers": {"test.dictconfig": {"handlers": ["mem"], "level": "INFO", "propagate": False}},
        }
    )
    logging.getLogger("test.dictconfig.child").info("mail %s", EMAIL)
    assert EMAIL not in stream.getvalue() and "[EMAIL]" in stream.getvalue()

    other = io.StringIO()
    logger = logging.getLogger("test.install")
    logger.addHandler(logging.StreamHandler(other))
    logger.propagate = False
    logger.setLevel(logging.INFO)
    f = plog.install(["test.install"])
    assert plog.install(["test.install"], f) is f
    assert logger.handlers[0].filters.count(f) == 1
    logger.info("ssn %s", SSN)
    assert SSN not in other.getvalue()


def test_structlog_processor():
    p = plog.RedactingProcessor()
    out = p(None, "info", {"event": f"saw {SSN}", "user": {"email": EMAIL, "n": 3}, "tags": [SSN]})
    assert out == {"event": "saw [SSN]", "user": {"email": "[EMAIL]", "n": 3}, "tags": ["[SSN]"]}


def raise_phi():
    raise ValueError(f"invalid ssn {SSN} for maria.lopez@gmail.com")


def test_record_factory_covers_handlers_added_later():
    f = plog.install_record_factory()
    assert plog.install_record_factory() is f  # one wrapper, not two
    # A handler with no filter, added after install: what uvicorn's
    # dictConfig and libraries do.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.factory")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info("ssn=%s", "219099999")
    try:
        raise_phi()
    except ValueError:
        logger.exception("lookup failed for %s", EMAIL)
    out = stream.getvalue()
    for raw in ["219099999", SSN, EMAIL, "maria.lopez@gmail.com"]:
        assert raw not in out, out
    assert "ValueError: invalid ssn [SSN]" in out

    # extra= fields, attached after the factory ran, are redacted under
    # their names as makeRecord stores them: no filter needed.
    handler.setFormatter(logging.Formatter("%(message)s %(mrn)s %(ssn)s %(last_name)s"))
    logger.info("x", extra={"mrn": "0048213", "ssn": 219099999, "last_name": "Quixote"})
    out = stream.getvalue().splitlines()[-1]
    assert out == "x [MRN] [SSN] [PERSON]", out

    # A handler filter as well does not redact anything a second time.
    handler.addFilter(plog.RedactingFilter())
    handler.setFormatter(logging.Formatter("%(message)s %(mrn)s"))
    logger.info("tagged %s", "[SSN]", extra={"mrn": "0048213"})
    assert "0048213" not in stream.getvalue()
    assert "tagged [SSN] [MRN]" in stream.getvalue()

    # A record still pickles (QueueHandler to another process, SocketHandler).
    import pickle

    record = logger.makeRecord("test.factory", logging.INFO, "f", 1, "m", None, None, extra={"mrn": "0048213"})
    back = pickle.loads(pickle.dumps(record))
    assert back.mrn == "[MRN]" and type(vars(back)) is dict


def test_json_formatter_that_formats_exc_info_itself():
    class JsonFormatter(logging.Formatter):
        # What JSON formatters do: format the exception from exc_info.
        def format(self, record):
            doc = {"msg": record.getMessage()}
            if record.exc_info:
                doc["exc"] = self.formatException(record.exc_info)
            elif record.exc_text:
                doc["exc"] = record.exc_text
            return json.dumps(doc)

    logger, stream = filtered_logger("%(message)s")
    logger.handlers[0].setFormatter(JsonFormatter())
    try:
        raise_phi()
    except ValueError:
        logger.exception("failed")
    out = stream.getvalue()
    assert SSN not in out and "maria.lopez" not in out
    assert "[SSN]" in json.loads(out)["exc"]


def test_pydantic_input_values_are_withheld_from_tracebacks():
    from pydantic import BaseModel

    class Patient(BaseModel):
        age: int

    logger, stream = filtered_logger("%(message)s")
    body = {"age": "219099999" + "x"}  # the traceback quotes this line
    try:
        Patient(**body)
    except Exception:
        logger.exception("bad body")
    out = stream.getvalue()
    assert "219099999" not in out and "input_value=[REDACTED]" in out, out


def test_install_without_handlers_warns_and_covers_last_resort(capsys):
    logger = logging.getLogger("test.nohandlers")
    logger.propagate = False
    # Without the record factory nothing would redact later handlers.
    with pytest.warns(RuntimeWarning, match="no handlers"):
        plog.install(["test.nohandlers"], record_factory=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plog.install(["test.nohandlers"])
    # No handler anywhere: Python prints through its last-resort handler.
    logger.warning("ssn %s mail %s", SSN, EMAIL)
    err = capsys.readouterr().err
    assert "ssn [SSN] mail [EMAIL]" in err and SSN not in err


def test_uvicorn_log_config_filters_every_handler():
    config = plog.uvicorn_log_config()
    assert config["filters"]["phisafe"] == {"()": "phisafe.logging.RedactingFilter"}
    assert config["handlers"] and all("phisafe" in h["filters"] for h in config["handlers"].values())
    from uvicorn.config import LOGGING_CONFIG

    assert "filters" not in LOGGING_CONFIG.get("handlers", {}).get("default", {})  # a copy
    logging.config.dictConfig(config)
    access = logging.getLogger("uvicorn.access")
    assert all(any(isinstance(f, plog.RedactingFilter) for f in h.filters) for h in access.handlers)


def structlog_output(processors):
    structlog = pytest.importorskip("structlog")
    out = io.StringIO()
    log = structlog.wrap_logger(
        structlog.PrintLogger(out), processors=processors, context_class=dict
    )
    return structlog, log, out


def test_structlog_console_renderer_prints_no_raw_traceback():
    structlog = pytest.importorskip("structlog")
    _, log, out = structlog_output(
        [
            structlog.processors.add_log_level,
            structlog.dev.set_exc_info,
            plog.RedactingProcessor(),
            structlog.dev.ConsoleRenderer(colors=False),
        ]
    )
    log.info("lookup", ssn="219099999", last_name="Quixote", mrn="0048213")
    try:
        raise_phi()
    except ValueError:
        log.exception("failed", stack_info=True)
    text = out.getvalue()
    for raw in ["219099999", "Quixote", "0048213", SSN, "maria.lopez"]:
        assert raw not in text, text
    assert "ValueError: invalid ssn [SSN]" in text


def test_structlog_json_renderer_with_exception_objects():
    structlog = pytest.importorskip("structlog")
    _, log, out = structlog_output(
        [plog.RedactingProcessor(), structlog.processors.JSONRenderer()]
    )
    try:
        raise_phi()
    except ValueError as e:
        log.error("failed", exc_info=e, patient={"email": EMAIL})
    doc = json.loads(out.getvalue())
    assert doc["patient"] == {"email": "[EMAIL]"}
    assert "[SSN]" in doc["exception"] and SSN not in doc["exception"]
    assert "exc_info" not in doc
