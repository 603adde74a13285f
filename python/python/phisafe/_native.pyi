"""Type stubs for the native module (the Rust engine)."""

from os import PathLike
from typing import Any, Iterable, Literal, Mapping, Optional, Sequence, final, overload

from typing_extensions import Self

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
    "audit_checkpoint",
    "cli_main",
    "generate_key",
    "verify_audit",
]

class PhisafeError(Exception):
    """Base class of every phisafe error. Messages never contain input data."""

class PatternError(PhisafeError):
    """A pattern file, entity name, operator or option is invalid."""

class InputError(PhisafeError):
    """The input cannot be read: malformed JSON, nesting too deep, an unsupported type."""

class DecryptError(PhisafeError):
    """Wrong key, scope or row, altered or malformed value, or a destroyed key version."""

class PolicyDenied(PhisafeError):
    """The access policy refused the call (it is still audited)."""

class KeyManagementError(PhisafeError):
    """The master key, keyring or key store failed."""

class AuditError(PhisafeError):
    """The audit record could not be written, so the call did not happen."""

@final
class Finding:
    """One finding; offsets are string indices. ``repr`` never shows the value."""

    def __new__(
        cls,
        entity: str,
        start: int,
        end: int,
        score: float = 1.0,
        pattern_id: Optional[str] = None,
        path: Optional[str] = None,
    ) -> Self: ...
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

@final
class Scanner:
    """A compiled pattern pack: immutable, thread-safe, build once."""

    def __new__(
        cls,
        entities: Optional[Sequence[str]] = None,
        min_score: Optional[float] = None,
        extra_patterns: Optional[Sequence[str | PathLike[str]]] = None,
        allow: Optional[Sequence[str]] = None,
        deny: Optional[Mapping[str, Sequence[str]]] = None,
        log_timestamps: bool = False,
    ) -> Self: ...
    def scan(self, text: str) -> list[Finding]: ...
    def redact(
        self,
        text: str,
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
        findings: Optional[Sequence[Finding]] = None,
    ) -> str: ...
    def scan_many(
        self, texts: Iterable[str], field: Optional[str] = None
    ) -> list[list[Finding]]: ...
    def scan_many_columns(
        self, texts: Iterable[str], field: Optional[str] = None
    ) -> tuple[list[int], list[str], list[int], list[int], list[float], list[str]]: ...
    def redact_many(
        self,
        texts: Iterable[str],
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
        field: Optional[str] = None,
    ) -> list[str]: ...
    def scan_json(self, obj: Any) -> list[Finding]: ...
    def redact_json(
        self,
        obj: Any,
        operators: Optional[Mapping[str, str]] = None,
        hash_key: Optional[bytes] = None,
    ) -> Any: ...

@final
class FieldCipher:
    """Envelope encryption of fields; interchangeable with the Rust API and CLI."""

    def __new__(
        cls,
        key: str,
        keyring: str | PathLike[str],
        audit: str | PathLike[str],
        policy: Optional[str | PathLike[str]] = None,
        sync_every_record: bool = False,
        allow_all: bool = False,
    ) -> Self: ...
    @overload
    def encrypt_phi(
        self,
        value: str | bytes,
        *,
        scope: str,
        row: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
        binary: Literal[False] = False,
    ) -> str: ...
    @overload
    def encrypt_phi(
        self,
        value: str | bytes,
        *,
        scope: str,
        row: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
        binary: Literal[True],
    ) -> bytes: ...
    @overload
    def encrypt_phi(
        self,
        value: str | bytes,
        *,
        scope: str,
        row: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
        binary: bool,
    ) -> str | bytes: ...
    @overload
    def decrypt_phi(
        self,
        envelope: str | bytes,
        *,
        scope: str,
        row: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
        binary: Literal[False] = False,
    ) -> str: ...
    @overload
    def decrypt_phi(
        self,
        envelope: str | bytes,
        *,
        scope: str,
        row: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
        binary: Literal[True],
    ) -> bytes: ...
    @overload
    def decrypt_phi(
        self,
        envelope: str | bytes,
        *,
        scope: str,
        row: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
        binary: bool,
    ) -> str | bytes: ...
    def encrypt_many(
        self,
        items: Sequence[tuple[str, str | bytes]],
        *,
        scope: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> list[str]: ...
    def decrypt_many(
        self,
        items: Sequence[tuple[str, str | bytes]],
        *,
        scope: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> list[str | DecryptError]: ...
    def blind_index(
        self,
        value: str,
        *,
        scope: str,
        name: str,
        actor: str,
        purpose: str,
        normalizer: str = "exact",
        bits: int = 32,
        distinct_values: Optional[int] = None,
        role: str = "",
        tenant: Optional[str] = None,
    ) -> str: ...
    def rotate(
        self,
        *,
        scope: str,
        actor: str,
        purpose: str = "key-rotation",
        role: str = "",
        tenant: Optional[str] = None,
    ) -> int: ...
    def reencrypt(
        self,
        envelope: str | bytes,
        *,
        scope: str,
        row: str,
        actor: str,
        purpose: str,
        role: str = "",
        tenant: Optional[str] = None,
    ) -> Optional[str]: ...
    def flush_audit(self) -> None: ...

@final
class DumpReader:
    """Rows of a pg_dump or mysqldump plain-SQL file, decoded by phisafe's parser."""

    def __new__(cls, path: str | PathLike[str], dialect: str = "auto") -> Self: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> tuple[str, list[str], int, list[Optional[str]]]: ...

@final
class Classifier:
    """Per-column classification by the rule of the CLI's summary: counts
    findings per column, row by row, and names the dominant entity once its
    share of rows reaches `threshold`."""

    def __new__(cls, threshold: float = 0.5) -> Self: ...
    @property
    def threshold(self) -> float: ...
    def observe(self, column: str, findings: Sequence[Finding]) -> None: ...
    def observe_many(self, column: str, rows: list[list[Finding]]) -> None: ...
    def observe_texts(
        self,
        column: str,
        scanner: Scanner,
        texts: Iterable[str],
        field: Optional[str] = None,
    ) -> None: ...
    def add(
        self,
        column: str,
        rows: int,
        rows_with_findings: int,
        entities: Sequence[tuple[str, int, float]],
    ) -> None: ...
    def counts(self) -> list[tuple[str, int, int, list[tuple[str, int, float]]]]: ...
    def merge(self, other: Classifier) -> None: ...
    def summaries(self) -> list[dict[str, Any]]: ...

def generate_key(path: str | PathLike[str]) -> str:
    """Creates a master key file (mode 0600, never overwritten); returns its id."""

def verify_audit(
    path: str | PathLike[str],
    key: str,
    keyring: str | PathLike[str],
    checkpoint: Optional[str | PathLike[str]] = None,
) -> dict[str, Any]:
    """Checks a JSONL audit log's MAC chain: intact, records, head, first bad line."""

def audit_checkpoint(
    path: str | PathLike[str],
    key: str,
    keyring: str | PathLike[str],
    output: str | PathLike[str],
) -> int:
    """Writes a checkpoint of a verified log's head; returns its sequence number."""

def cli_main(argv: Sequence[str]) -> int:
    """Runs the ``phisafe`` command line (program name first); returns its exit code."""
