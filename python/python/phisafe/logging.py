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
            record.exc_text = r.text(record.exc_text)
            # Formatters print exc_text; one that formats exc_info itself
            # would print the raw traceback again.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = r.text(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and key != _DONE:
                setattr(record, key, r.keyed(key, value))


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
            # Keyword fields are read under their names (ssn="219099999").
            return {k: self._redactor.keyed(k, v) for k, v in event_dict.items()}
        except Exception:
            return {"event": FAILED_MARKER}
