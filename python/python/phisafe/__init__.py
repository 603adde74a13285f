"""Find and redact PHI/PII with the phisafe Rust engine.

>>> import phisafe
>>> [f.entity for f in phisafe.scan("SSN 219-09-9999, mail jo@clinic.example")]
['SSN', 'EMAIL']
>>> phisafe.redact("SSN 219-09-9999")
'SSN [SSN]'

Offsets are string indices (code points). :class:`FieldCipher` encrypts
fields with the envelope format of the Rust crate and CLI. Build a :class:`Scanner` once and
share it: it is immutable and thread-safe, and every call releases the GIL
while Rust works.
"""

from __future__ import annotations

import threading
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version
from typing import Callable, Iterable, Mapping, Optional, Union

from phisafe._native import (
    AuditError,
    Classifier,
    DecryptError,
    DumpReader,
    FieldCipher,
    Finding,
    InputError,
    KeyManagementError,
    PatternError,
    PhisafeError,
    PolicyDenied,
    Scanner,
    audit_checkpoint,
    generate_key,
    verify_audit,
)

__all__ = [
    "AuditError",
    "Classifier",
    "DecryptError",
    "DumpReader",
    "FieldCipher",
    "Finding",
    "InputError",
    "KeyManagementError",
    "PatternError",
    "PhisafeError",
    "PolicyDenied",
    "Redactor",
    "Scanner",
    "audit_checkpoint",
    "default_scanner",
    "generate_key",
    "redact",
    "scan",
    "verify_audit",
]

try:
    __version__ = _version("phisafe")
except PackageNotFoundError:  # imported from a source tree, not installed
    __version__ = "0+unknown"

_default: Optional[Scanner] = None
_lock = threading.Lock()


def default_scanner() -> Scanner:
    """The scanner with the default pattern pack, built on first use."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Scanner()
    return _default


def scan(text: str) -> list[Finding]:
    """The findings in ``text``, with the default scanner."""
    return default_scanner().scan(text)


def redact(text: str) -> str:
    """``text`` with every finding replaced by its entity tag, with the
    default scanner."""
    return default_scanner().redact(text)


#: A replacement computed by the caller: ``(value, entity) -> text``.
ReplaceFn = Callable[[str, str], str]


class Redactor:
    """A scanner and its operators, set once and used for every call.

    ``operators`` maps an entity name, or ``"*"`` for every entity without
    its own, to an operator name (``tag``, ``mask``, ``partial``, ``hash``,
    ``remove``, in any case) or to a function ``(value, entity) -> str``
    for a replacement of your own (``lambda v, e: "<redacted>"``).

    >>> r = Redactor(operators={"*": "MASK", "EMAIL": lambda v, e: v.split("@")[0][:1] + "…@…"})
    >>> r.redact("SSN 219-09-9999, mail jo@clinic.example")
    'SSN ***, mail j…@…'
    """

    def __init__(
        self,
        scanner: Optional[Scanner] = None,
        operators: Optional[Mapping[str, Union[str, ReplaceFn]]] = None,
        hash_key: Optional[bytes] = None,
    ) -> None:
        self.scanner = scanner or default_scanner()
        self._hash_key = hash_key
        ops = dict(operators or {})
        self._native = {k: v for k, v in ops.items() if isinstance(v, str)}
        self._custom = {k: v for k, v in ops.items() if not isinstance(v, str)}
        for name, fn in self._custom.items():
            if not callable(fn):
                raise TypeError(f"operator for {name!r} must be a name or a function")
        # Checks the names now, not at the first call.
        self.scanner.redact("", self._native, hash_key)

    def _custom_for(self, entity: str) -> Optional[ReplaceFn]:
        if entity in self._custom:
            return self._custom[entity]
        if entity in self._native:
            return None
        return self._custom.get("*")

    def redact(self, text: str, findings: Optional[Iterable[Finding]] = None) -> str:
        """``text`` redacted; with ``findings`` (from :meth:`Scanner.scan`
        of this text, filtered or added to), those instead of a new scan."""
        listed = None if findings is None else list(findings)
        if not self._custom:
            return self.scanner.redact(text, self._native, self._hash_key, listed)
        if listed is None:
            listed = self.scanner.scan(text)
        out: list[str] = []
        at = 0
        for start, end, entity in _merged(listed):
            start = max(start, at)
            out.append(text[at:start])
            value = text[start:end]
            fn = self._custom_for(entity)
            if fn is not None:
                out.append(fn(value, entity))
            else:
                one = [Finding(entity, 0, len(value))]
                out.append(self.scanner.redact(value, self._native, self._hash_key, one))
            at = end
        out.append(text[at:])
        return "".join(out)

    def redact_many(self, texts: Iterable[str]) -> list[str]:
        """:meth:`redact` of each text; in parallel when no operator is a
        function."""
        if not self._custom:
            return self.scanner.redact_many(list(texts), self._native, self._hash_key)
        return [self.redact(t) for t in texts]


def _merged(findings: list[Finding]) -> Iterable[tuple[int, int, str]]:
    """Findings as sorted spans, overlapping ones merged (the widest
    names the entity), as the engine merges them."""
    spans = sorted((f.start, f.end, f.entity) for f in findings)
    i = 0
    while i < len(spans):
        start, end, entity = spans[i]
        widest = end - start
        i += 1
        while i < len(spans) and spans[i][0] < end:
            s, e, en = spans[i]
            if e - s > widest:
                widest, entity = e - s, en
            end = max(end, e)
            i += 1
        yield start, end, entity
