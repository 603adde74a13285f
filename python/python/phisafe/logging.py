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

What is redacted: the message, each of its ``%`` arguments (a tuple stays a
tuple of the same length, numbers stay numbers, so uvicorn's access
formatter still unpacks it), attributes added with ``extra=``, the
formatted exception (``exc_text``) and ``stack_info``. Tools that read
``exc_info`` themselves (Sentry locals, loguru ``diagnose``) bypass any
filter; turn their local-variable capture off.

The filter never raises and never drops a record: if redaction fails, the
message is replaced by a fixed marker. Records are changed in place, so
every handler sees the redacted record.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Iterable, Mapping, Optional

from phisafe._native import Scanner

__all__ = ["FAILED_MARKER", "RedactingFilter", "RedactingProcessor", "install"]

#: What a message becomes when redaction itself fails.
FAILED_MARKER = "[phisafe: log message withheld, redaction failed]"

# Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_DONE = "_phisafe_redacted"


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
        if getattr(record, _DONE, False):
            return True
        try:
            self._redact(record)
        except Exception:
            _withhold(record)
        setattr(record, _DONE, True)
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        r = self._redactor
        if isinstance(record.msg, str):
            record.msg = r.text(record.msg)
        elif record.msg is not None:
            record.msg = r.value(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(r.value(a) for a in args)
        elif isinstance(args, Mapping):
            record.args = {k: r.value(v) for k, v in args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = r.text(record.exc_text)
        if record.stack_info:
            record.stack_info = r.text(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and key != _DONE:
                setattr(record, key, r.value(value))


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
        if key not in _STANDARD and key != _DONE:
            setattr(record, key, "[REDACTED]")


def install(
    loggers: Iterable[str] = ("", "uvicorn", "uvicorn.error", "uvicorn.access"),
    filter: Optional[RedactingFilter] = None,
) -> RedactingFilter:
    """Adds one :class:`RedactingFilter` to every handler of ``loggers``
    (the root logger and uvicorn's by default) and returns it. Call it
    after logging is configured; handlers added later need it too."""
    f = filter or RedactingFilter()
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if f not in handler.filters:
                handler.addFilter(f)
    return f


class RedactingProcessor:
    """A structlog processor: put it last before the renderer. Redacts
    every value of the event dict (strings, nested dicts and lists,
    exception text); never raises."""

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
        try:
            return {k: self._redactor.value(v) for k, v in event_dict.items()}
        except Exception:
            return {"event": FAILED_MARKER}
