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
from typing import Optional

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
    "Scanner",
    "default_scanner",
    "redact",
    "scan",
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
