"""Redact PHI from Python log records before any handler writes them.

Attach :class:`RedactingFilter` to *handlers* (a filter on a logger misses
records propagated from child loggers)::

    import logging, phisafe.logging

    handler = logging.StreamHandler()
    handler.addFilter(phisafe.logging.RedactingFilter())

or from ``logging.config.dictConfig``::

    "filters": {"phi": {"()": "phisafe.logging.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["phi"]}},

:func:`install` attaches one filter to the root logger's and uvicorn's
handlers. :class:`RedactingProcessor` does the same for structlog.

What is redacted: the message formatted with its ``%`` arguments, as one
text (``"ssn=%s"`` gives its argument a key; the record then holds the
redacted text and no arguments; uvicorn's access records keep their
argument tuple, each argument redacted, for its formatter), attributes
added with ``extra=`` read under their names as JSON members are, the
formatted exception (``exc_text``; ``exc_info`` is then cleared so no
formatter renders the raw traceback again) and ``stack_info``. Tools that read
``exc_info`` themselves (Sentry locals, loguru ``diagnose``) bypass any
filter; turn their local-variable capture off.

The filter never raises and never drops a record: if redaction fails, the
message is replaced by a fixed marker. Records are changed in place, so
every handler sees the redacted record.

Handlers that appear after :func:`install` (``uvicorn.run`` configures its
own, libraries add theirs) have no filter. :func:`install` therefore also
redacts every record where it is made (a ``logging.setLogRecordFactory``
wrapper): message, arguments, exception and stack are redacted before any
handler exists to see them. Fields added with ``extra=`` are attached by
``Logger.makeRecord`` after the factory returns; the record it made holds
its attributes in a dictionary that redacts each such field, under its
name, as it is stored, so no handler sees them raw either.
"""

from __future__ import annotations

import copy
import logging
import re
import sys
import traceback
import warnings
from types import TracebackType
from typing import Any, Callable, Iterable, Mapping, Optional

from phisafe._native import Scanner

__all__ = [
    "FAILED_MARKER",
    "RedactingFilter",
    "RedactingProcessor",
    "install",
    "install_record_factory",
    "uvicorn_log_config",
]

#: What a message becomes when redaction itself fails.
FAILED_MARKER = "[phisafe: log message withheld, redaction failed]"

# Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_DONE = "_phisafe_redacted"
# The state of a record the factory redacted: its extra= fields are not.
_MADE = "made"
# Pydantic's echo of the rejected input: a repr up to the next ", " or "]".
_INPUT_VALUE = re.compile(r"""(input_value=)(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|[^,\]\n]*)""")


class _Redactor:
    def __init__(
        self,
        scanner: Optional[Scanner],
        operators: Optional[Mapping[str, str]],
        hash_key: Optional[bytes],
    ) -> None:
        if scanner is None:
            from phisafe import default_scanner

            scanner = default_scanner()
        self.scanner = scanner
        self.operators = dict(operators) if operators else None
        self.hash_key = hash_key

    def text(self, s: str) -> str:
        return self.scanner.redact(s, self.operators, self.hash_key)

    def exception(self, s: str) -> str:
        """A formatted traceback, redacted. Pydantic quotes what a client
        sent (``input_value='219099999'``); such a value has no key of its
        own, so it is withheld whole."""
        return self.text(_INPUT_VALUE.sub(r"\1[REDACTED]", s))

    def keyed(self, key: str, v: Any) -> Any:
        """A redacted copy of ``v`` read as the value of field ``key``
        (``extra={"ssn": 219099999}``): the key's meaning applies, as to a
        JSON member."""
        try:
            return self.scanner.redact_json({key: v}, self.operators, self.hash_key)[key]
        except Exception:  # a value JSON cannot hold
            return self.value(v)

    def value(self, v: Any) -> Any:
        """A redacted copy of ``v``: strings redacted, containers walked,
        numbers, booleans and None kept; other objects by their ``str``."""
        if isinstance(v, str):
            return self.text(v)
        if v is None or isinstance(v, (bool, int, float)):
            return v
        if isinstance(v, (dict, list, tuple)):
            try:
                out = self.scanner.redact_json(v, self.operators, self.hash_key)
                return tuple(out) if isinstance(v, tuple) else out
            except Exception:  # keys that are not strings, odd members
                pass
        s = str(v)
        red = self.text(s)
        return v if red == s else red


def _is_extra(key: str) -> bool:
    """Whether a record attribute came from ``extra=``."""
    return key not in _STANDARD and key != _DONE


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that redacts records in place; see the module
    documentation. Arguments are those of :meth:`phisafe.Scanner.redact`;
    the default scanner and entity tags are used when none are given."""

    def __init__(
        self,
        name: str = "",
        scanner: Optional[Scanner] = None,
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
    ) -> None:
        super().__init__(name)
        self._redactor = _Redactor(scanner, operators, hash_key)

    def filter(self, record: logging.LogRecord) -> bool:
        state = getattr(record, _DONE, None)
        if state is True:
            return True
        try:
            if state != _MADE:
                self._redact(record)
            if not isinstance(vars(record), _ExtraRedacting):
                self._redact_extra(record)
        except Exception:
            _withhold(record)
        setattr(record, _DONE, True)
        return True

    def _made(self, record: logging.LogRecord) -> None:
        """Redacts a record the factory just made. The ``extra=`` fields
        come after: ``Logger.makeRecord`` stores them with
        ``record.__dict__[key] = value``, which the record's own dictionary
        redacts."""
        try:
            self._redact(record)
        except Exception:
            _withhold(record)
        setattr(record, _DONE, _MADE)
        record.__dict__ = _ExtraRedacting(record.__dict__, self._redactor)

    def _redact_extra(self, record: logging.LogRecord) -> None:
        r = self._redactor
        for key, value in list(vars(record).items()):
            if _is_extra(key):
                setattr(record, key, r.keyed(key, value))

    def _redact(self, record: logging.LogRecord) -> None:
        r = self._redactor
        args = record.args
        if record.name.endswith("uvicorn.access") and isinstance(args, tuple):
            # uvicorn's access formatter unpacks the arguments: each is
            # redacted in place (a path's query keys are read in it).
            if isinstance(record.msg, str):
                record.msg = r.text(record.msg)
            record.args = tuple(r.value(a) for a in args)
        elif not args and record.msg is not None and not isinstance(record.msg, str):
            # A dict or object message, for formatters that read it whole.
            record.msg = r.value(record.msg)
        else:
            # The message as a formatter would print it, redacted whole:
            # the key in "ssn=%s" is the argument's context, and a value
            # split over arguments ("%s-%s-%s") is seen joined. Frozen so
            # that no formatter formats the raw arguments again.
            record.msg = r.text(record.getMessage())
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = r.exception(record.exc_text)
            # Formatters print exc_text; one that formats exc_info itself
            # would print the raw traceback again.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = r.text(record.stack_info)


class _ExtraRedacting(dict[str, Any]):
    """A record's attribute dictionary that redacts the fields stored in
    it later by item assignment (``extra=``), each under its name."""

    def __init__(self, attrs: dict[str, Any], redactor: _Redactor) -> None:
        super().__init__(attrs)
        self._redactor = redactor

    def __setitem__(self, key: str, value: Any) -> None:
        if _is_extra(key):
            try:
                value = self._redactor.keyed(key, value)
            except Exception:
                value = "[REDACTED]"
        super().__setitem__(key, value)

    def __reduce__(self) -> Any:
        # Pickled (a record sent to another process) as the plain
        # dictionary it is; the redactor stays here.
        return (dict, (dict(self),))


def _withhold(record: logging.LogRecord) -> None:
    if isinstance(record.args, tuple) and record.args:
        # Keep the shape for formatters that unpack it (uvicorn's access
        # formatter); numbers cannot hold text.
        record.args = tuple(a if isinstance(a, (int, float)) else "[REDACTED]" for a in record.args)
        record.msg = FAILED_MARKER + " %s" * len(record.args)
    else:
        record.msg = FAILED_MARKER
        record.args = None
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None
    for key in list(vars(record)):
        if _is_extra(key):
            setattr(record, key, "[REDACTED]")


def install(
    loggers: Iterable[str] = ("", "uvicorn", "uvicorn.error", "uvicorn.access"),
    filter: Optional[RedactingFilter] = None,
    *,
    record_factory: bool = True,
) -> RedactingFilter:
    """Adds one :class:`RedactingFilter` to every handler of ``loggers``
    (the root logger and uvicorn's by default) and to Python's last-resort
    handler, and returns it. With ``record_factory`` (the default) records
    are also redacted where they are made (:func:`install_record_factory`),
    so handlers configured later still print redacted messages and
    tracebacks, and ``extra=`` fields under their names. Without the
    record factory, a ``RuntimeWarning`` says so if none of ``loggers``
    has a handler yet: configure logging first, or later handlers print
    raw records."""
    f = filter or RedactingFilter()
    attached = 0
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            attached += 1
            if f not in handler.filters:
                handler.addFilter(f)
    # Python prints records to stderr through this handler when a logger
    # has none at all.
    last = logging.lastResort
    if last is not None and f not in last.filters:
        last.addFilter(f)
    if record_factory:
        install_record_factory(f)
    if not attached and not record_factory:
        warnings.warn(
            "phisafe.logging.install(record_factory=False): no handlers on the given "
            "loggers yet, so nothing redacts their records; call install() after "
            "logging is configured",
            RuntimeWarning,
            stacklevel=2,
        )
    return f


_RecordFactory = Callable[..., logging.LogRecord]


class _RedactingFactory:
    def __init__(self, inner: _RecordFactory, filter: RedactingFilter) -> None:
        self.inner = inner
        self.filter = filter

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        self.filter._made(record)
        return record


def install_record_factory(filter: Optional[RedactingFilter] = None) -> RedactingFilter:
    """Wraps the current log record factory so that every record's message,
    arguments, exception and stack are redacted when the record is made,
    before any handler (configured now or later) sees it. Installing twice
    keeps one wrapper. Returns the filter used."""
    current = logging.getLogRecordFactory()
    if isinstance(current, _RedactingFactory):
        return current.filter
    f = filter or RedactingFilter()
    logging.setLogRecordFactory(_RedactingFactory(current, f))
    return f


def uvicorn_log_config(
    filter_factory: str = "phisafe.logging.RedactingFilter",
) -> dict[str, Any]:
    """uvicorn's default logging configuration with a redacting filter on
    every handler, for ``uvicorn.run(app, log_config=uvicorn_log_config())``
    (or ``--log-config`` after dumping it to JSON). ``uvicorn.run`` applies
    its own configuration after the app is imported, replacing handlers
    that :func:`install` filtered."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["phisafe"] = {"()": filter_factory}
    for handler in config.get("handlers", {}).values():
        handler["filters"] = [*handler.get("filters", []), "phisafe"]
    return config


_ExcInfo = tuple[type[BaseException], BaseException, Optional[TracebackType]]


def _exc_info(v: Any) -> Optional[_ExcInfo]:
    """structlog's reading of an ``exc_info`` value."""
    if isinstance(v, BaseException):
        return (type(v), v, v.__traceback__)
    if isinstance(v, tuple) and len(v) == 3 and v[0] is not None:
        return v
    if v is True or (v and not isinstance(v, tuple)):
        info = sys.exc_info()
        return info if info[0] is not None else None
    return None


class RedactingProcessor:
    """A structlog processor: put it last before the renderer. Redacts
    every value of the event dict (strings, nested dicts and lists) under
    its key, as JSON members are read. An exception (``exc_info``) is
    formatted here and redacted into ``exception``, and ``stack_info``
    into ``stack``, so that no renderer (``ConsoleRenderer`` prints
    tracebacks itself) sees the raw text. Never raises."""

    def __init__(
        self,
        scanner: Optional[Scanner] = None,
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
    ) -> None:
        self._redactor = _Redactor(scanner, operators, hash_key)

    def __call__(
        self, logger: Any, method_name: str, event_dict: dict[str, Any]
    ) -> dict[str, Any]:
        r = self._redactor
        try:
            out: dict[str, Any] = {}
            for k, v in event_dict.items():
                if k == "exc_info":
                    info = _exc_info(v)
                    if info is not None:
                        text = "".join(traceback.format_exception(*info)).rstrip("\n")
                        out["exception"] = r.exception(text)
                elif k == "exception" and isinstance(v, str):
                    out[k] = r.exception(v)
                elif k == "stack_info":
                    if v:
                        out["stack"] = r.text("".join(traceback.format_stack()).rstrip("\n"))
                else:
                    # Keyword fields are read under their names (ssn="219099999").
                    out[k] = r.keyed(k, v)
            return out
        except Exception:
            return {"event": FAILED_MARKER}
