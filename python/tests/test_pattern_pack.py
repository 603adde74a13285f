"""The pattern pack's own examples, run through the Python API, so the
bindings cannot drift from the core (offsets included: the examples carry
non-ASCII text)."""

import pathlib
import tomllib

import pytest

from phisafe import Scanner

PATTERNS = pathlib.Path(__file__).resolve().parents[2] / "core" / "patterns"


def marked(example):
    """The text without «», and the marked span in string indices."""
    start = example.index("«")
    end = example.index("»") - 1
    return example.replace("«", "").replace("»", ""), (start, end)


def load(kind):
    out = []
    for path in sorted(PATTERNS.glob("*.toml")):
        out.extend(tomllib.loads(path.read_text()).get(kind, []))
    return out


SCANNERS = {False: Scanner(), True: Scanner(log_timestamps=True)}
RULES = load("pattern")
KEYS = load("key")


def test_the_pack_is_there():
    assert len(RULES) > 50 and len(KEYS) > 5


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["id"])
def test_examples_and_negatives(rule):
    scanner = SCANNERS[rule.get("log_timestamp", False)]
    for example in rule.get("examples", []):
        text, span = marked(example)
        found = scanner.scan(text)
        got = [(f.entity, (f.start, f.end)) for f in found]
        # The rule's own span, or a wider reading of its entity that took
        # the rule's score when it covered it.
        assert any(
            f.entity == rule["entity"]
            and ((f.start, f.end) == span or (f.start <= span[0] and span[1] <= f.end and f.score >= rule["score"] - 1e-6))
            for f in found
        ), f"{example!r}: {got}"
    # Negatives hold for the default scanner (log timestamps not reported).
    for negative in rule.get("negatives", []):
        got = [f for f in SCANNERS[False].scan(negative) if f.entity == rule["entity"]]
        assert got == [], f"{negative!r}: {got}"


@pytest.mark.parametrize("rule", KEYS, ids=lambda r: r["id"])
def test_key_hint_examples(rule):
    for example in rule.get("examples", []):
        text, span = marked(example)
        got = [(f.entity, (f.start, f.end)) for f in SCANNERS[False].scan_json(text)]
        assert (rule["entity"], span) in got, f"{example!r}: {got}"
