"""Typical use of the bindings, type-checked by ``mypy --strict`` in the
test command (never run): what users write must check without casts."""

import logging

import phisafe
import phisafe.logging


def sealed(c: phisafe.FieldCipher) -> tuple[str, bytes, str]:
    scope, row = "patients.ssn", "1"
    text: str = c.encrypt_phi("219-09-9999", scope=scope, row=row, actor="api", purpose="care")
    raw: bytes = c.encrypt_phi(b"\x00", scope=scope, row=row, actor="api", purpose="care", binary=True)
    back: str = c.decrypt_phi(text, scope=scope, row=row, actor="api", purpose="care")
    return text, raw, back


def redacted(texts: list[str]) -> list[str]:
    r = phisafe.Redactor(operators={"*": "mask", "EMAIL": lambda value, entity: "<email>"})
    found = phisafe.scan(texts[0])
    first: str = phisafe.default_scanner().redact(texts[0], findings=[f for f in found if f.score > 0.5])
    return [first, *r.redact_many(t for t in texts)]


def logging_setup() -> None:
    logging.basicConfig()
    phisafe.logging.install()
    handler = logging.StreamHandler()
    handler.addFilter(phisafe.logging.RedactingFilter())
