"""Property tests (Hypothesis) of the bindings' offsets: Rust finds byte
offsets in UTF-8 and Python gets string indices, so for any Unicode text
the indices must slice exactly what Rust found.

The oracle is Rust's own redaction, which replaces by byte offsets:
rebuilt in Python from the string indices, it must be the same text.
"""

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from phisafe import Scanner

SCANNER = Scanner()

# Values the scanner finds, so that most examples have findings to check.
PHI = [
    "SSN 219-09-9999",
    "jo@clinic.example",
    "josé.garcía@clínica.example",
    "call 415-555-2671",
    "DOB 04/12/1957",
    "MRN 00482913",
    "Pt Maria Lopez",
    "10.44.19.201",
]
# (No HL7: its fields are redacted component by component, `[PERSON]^
# [PERSON]`, which the plain rebuild below does not model.)

# Any code point but lone surrogates, which a Python str may hold but
# UTF-8 (and so a Rust &str) cannot.
CHARS = st.characters(blacklist_categories=("Cs",))
PIECES = st.one_of(st.text(CHARS, max_size=12), st.sampled_from(PHI))
TEXTS = st.lists(PIECES, max_size=12).map(" ".join)


def rebuilt(text, found):
    """Redaction as Rust does it: overlapping findings (a name inside an
    address: different entities may nest) merge into one span, tagged with
    the widest finding's entity."""
    out, at = [], 0
    spans = []
    for f in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if spans and f.start < spans[-1][1]:
            start, end, entity, width = spans[-1]
            wider = f.end - f.start > width
            spans[-1] = (start, max(end, f.end), f.entity if wider else entity, max(width, f.end - f.start))
        else:
            spans.append((f.start, f.end, f.entity, f.end - f.start))
    for start, end, entity, _ in spans:
        out.append(text[at:start])
        out.append(f"[{entity}]")
        at = end
    out.append(text[at:])
    return "".join(out)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example("1 Pt Maria Lopez Pt Maria Lopez")  # a name inside an address
@given(TEXTS)
def test_indices_slice_what_rust_found(text):
    found = SCANNER.scan(text)
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
    assert all(a.start <= b.start for a, b in zip(found, found[1:]))
    assert rebuilt(text, found) == SCANNER.redact(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXTS, max_size=6))
def test_every_path_converts_the_same_way(texts):
    one_by_one = [SCANNER.scan(t) for t in texts]
    assert SCANNER.scan_many(texts) == one_by_one
    rows, entities, starts, ends, _, _ = SCANNER.scan_many_columns(texts)
    columns = list(zip(rows, entities, starts, ends))
    expected = [(i, f.entity, f.start, f.end) for i, fs in enumerate(one_by_one) for f in fs]
    assert columns == expected
    # Findings handed back are converted to bytes again: same output.
    for t, fs in zip(texts, one_by_one):
        assert SCANNER.redact(t, findings=fs) == SCANNER.redact(t)
