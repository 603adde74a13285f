"""Type stubs for the native module (the Rust engine)."""

from os import PathLike
from typing import Any, Mapping, Optional, Sequence

class PhisafeError(Exception):
    """Base class of every phisafe error. Messages never contain input data."""

class PatternError(PhisafeError):
    """A pattern file, entity name, operator or option is invalid."""

class InputError(PhisafeError):
    """The input cannot be read: malformed JSON, nesting too deep, an unsupported type."""

class Finding:
    """One finding; offsets are string indices. ``repr`` never shows the value."""

    @property
    def entity(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def pattern_id(self) -> str: ...
    @property
    def path(self) -> Optional[str]: ...

class Scanner:
    """A compiled pattern pack: immutable, thread-safe, build once."""

    def __init__(
        self,
        entities: Optional[Sequence[str]] = None,
        min_score: Optional[float] = None,
        extra_patterns: Optional[Sequence[str | PathLike[str]]] = None,
        allow: Optional[Sequence[str]] = None,
        deny: Optional[Mapping[str, Sequence[str]]] = None,
        log_timestamps: bool = False,
    ) -> None: ...
    def scan(self, text: str) -> list[Finding]: ...
    def redact(
        self,
        text: str,
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
    ) -> str: ...
    def scan_many(self, texts: Sequence[str]) -> list[list[Finding]]: ...
    def redact_many(
        self,
        texts: Sequence[str],
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
    ) -> list[str]: ...
    def scan_json(self, obj: Any) -> list[Finding]: ...
    def redact_json(
        self,
        obj: Any,
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
    ) -> Any: ...
