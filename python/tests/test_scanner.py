"""The Python API of the scanner, run by scripts/test.sh with pytest."""

import threading

import pytest

import phisafe
from phisafe import Finding, InputError, PatternError, PhisafeError, Scanner

NOTE = "Pt Maria Lopez, DOB 04/12/1957, MRN 00482913, phone 415-555-2671"


def values(text, found):
    return [(f.entity, text[f.start : f.end]) for f in found]


def test_scan_and_redact_with_the_default_scanner():
    found = phisafe.scan(NOTE)
    assert [f.entity for f in found] == ["PERSON", "DATE", "MRN", "PHONE"]
    assert values(NOTE, found)[0] == ("PERSON", "Maria Lopez")
    assert phisafe.redact(NOTE) == "Pt [PERSON], DOB [DATE], MRN [MRN], phone [PHONE]"
    assert phisafe.default_scanner() is phisafe.default_scanner()


@pytest.mark.parametrize(
    "prefix",
    ["", "Café ", "患者の記録 ", "🏥🩺 ", "naïve 😀 résumé 中文 "],
)
def test_offsets_are_string_indices_with_non_ascii_text(prefix):
    text = prefix + "SSN 219-09-9999 mail jo@clinic.example"
    found = Scanner().scan(text)
    assert values(text, found) == [("SSN", "219-09-9999"), ("EMAIL", "jo@clinic.example")]


def test_non_ascii_inside_a_finding():
    text = "écrire à josé.garcía@clínica.example 😀 puis 415-555-2671"
    found = Scanner().scan(text)
    got = values(text, found)
    assert ("PHONE", "415-555-2671") in got
    for f in found:
        assert 0 <= f.start < f.end <= len(text)


def test_finding_is_frozen_and_repr_hides_the_value():
    f = Scanner().scan("SSN 219-09-9999")[0]
    assert isinstance(f, Finding)
    assert "219" not in repr(f) and "SSN" in repr(f)
    with pytest.raises(AttributeError):
        f.start = 0
    assert f == Scanner().scan("SSN 219-09-9999")[0]


def test_options_and_errors():
    s = Scanner(entities=["EMAIL"], allow=["ok@clinic.example"])
    assert [f.entity for f in s.scan("219-09-9999 a@clinic.example ok@clinic.example")] == ["EMAIL"]
    s = Scanner(deny={"PERSON": ["Quixote"]})
    assert [f.entity for f in s.scan("seen by Quixote today")] == ["PERSON"]
    with pytest.raises(PatternError):
        Scanner(entities=["NOT_AN_ENTITY"])
    with pytest.raises(PatternError):
        Scanner(min_score=2.0)
    with pytest.raises(PatternError) as e:
        Scanner(extra_patterns=["/no/such/patterns.toml"])
    assert isinstance(e.value, PhisafeError)
    with pytest.raises(PatternError):
        Scanner().redact("x", operators={"SSN": "shred"})
    with pytest.raises(PatternError):
        Scanner().redact("x", operators={"SSN": "hash"})


def test_redact_operators():
    s = Scanner()
    assert s.redact("SSN 219-09-9999", operators={"SSN": "partial"}) == "SSN ***-**-9999"
    key = b"k" * 32
    a = s.redact("SSN 219-09-9999", operators={"SSN": "hash"}, hash_key=key)
    b = s.redact("SSN 219-09-9999!", operators={"SSN": "hash"}, hash_key=key)
    assert "219-09-9999" not in a and a[:20] == b[:20]


def test_batches_match_single_calls():
    s = Scanner()
    texts = [f"line {i}: call 415-555-{1000 + i:04d} or mail u{i}@clinic.example" for i in range(200)]
    texts.append("nothing here")
    assert s.scan_many(texts) == [s.scan(t) for t in texts]
    assert s.redact_many(texts) == [s.redact(t) for t in texts]


def test_json_paths_offsets_and_shape():
    s = Scanner()
    doc = {
        "patient": {"last_name": "Quixote", "ssn": 219099999, "contact": [{"phone": "415-555-2671"}]},
        "note": "Café visit, mail jo@clinic.example",
        "flags": [True, None, 1.5],
    }
    found = s.scan_json(doc)
    by_path = {f.path: f for f in found}
    assert by_path["/patient/last_name"].entity == "PERSON"
    assert by_path["/patient/ssn"].entity == "SSN"
    assert by_path["/patient/contact/0/phone"].entity == "PHONE"
    email = by_path["/note"]
    assert doc["note"][email.start : email.end] == "jo@clinic.example"

    import json

    text = json.dumps(doc, ensure_ascii=False)
    for f in s.scan_json(text):
        assert f.path is not None and 0 <= f.start < f.end <= len(text)
    assert {f.path for f in s.scan_json(text)} == set(by_path)

    red = s.redact_json(doc)
    assert red is not doc and doc["patient"]["last_name"] == "Quixote"
    assert red["patient"]["last_name"] == "[PERSON]"
    assert len(red["patient"]["contact"]) == 1 and red["flags"] == [True, None, 1.5]
    assert s.scan_json(red) == []


def test_redact_json_keeps_key_order_and_reads_fhir():
    s = phisafe.default_scanner()
    out = s.redact_json({"zeta": 1, "ssn": "219-09-9999", "alpha": {"y": 2}})
    assert list(out) == ["zeta", "ssn", "alpha"] and out["ssn"] == "[SSN]"
    patient = {
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "219099999"}],
        "name": [{"family": "Quixote", "given": ["Zed"]}],
    }
    red = str(s.redact_json(patient))
    for raw in ["219099999", "Quixote", "Zed"]:
        assert raw not in red, red


def test_redact_json_returns_untouched_values_as_they_were():
    import math

    s = phisafe.default_scanner()
    doc = {"ssn": 219099999, "x": float("nan"), "inf": float("inf"), "big": 2**70,
           "pair": (1, "219-09-9999"), "ok": 3.5, "n": 7, "flag": True}
    out = s.redact_json(doc)
    assert out["ssn"] == "[SSN]"  # a tag cannot be a number
    assert math.isnan(out["x"]) and out["inf"] == float("inf") and out["big"] == 2**70
    assert out["pair"] == (1, "[SSN]") and isinstance(out["pair"], tuple)
    assert type(out["ok"]) is float and type(out["n"]) is int and out["flag"] is True
    assert list(out) == list(doc)


def test_fhir_identifier_systems_given_as_oids():
    s = phisafe.default_scanner()
    patient = {"identifier": [
        {"system": "urn:oid:2.16.840.1.113883.4.1", "value": "219099998"},
        {"system": "urn:oid:2.16.840.1.113883.4.3.25", "value": "S12345678"},
    ]}
    red = str(s.redact_json(patient))
    assert "219099998" not in red and "S12345678" not in red, red


def test_bad_json_input():
    s = Scanner()
    with pytest.raises(InputError) as e:
        s.scan_json('{"ssn": "219-09-9999",')
    assert "219-09-9999" not in str(e.value)
    with pytest.raises(InputError):
        s.scan_json({"x": object()})
    with pytest.raises(InputError):
        s.scan_json({1: "a"})
    deep = []
    for _ in range(500):
        deep = [deep]
    with pytest.raises(InputError):
        s.scan_json(deep)


def test_concurrent_use_from_threads():
    s = Scanner()
    texts = [f"mail u{i}@clinic.example, SSN 219-09-{i:04d}" for i in range(1, 400)]
    expected = [s.scan(t) for t in texts]
    results = [None] * 8

    def work(k):
        results[k] = [s.scan(t) for t in texts]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)


def test_dump_reader_decodes_rows_with_the_core_parser(tmp_path):
    import pathlib

    from phisafe import DumpReader, InputError

    sample = pathlib.Path(__file__).resolve().parents[2] / "samples" / "clinic-pg_dump.sql"
    rows = list(DumpReader(sample))
    table, columns, row, values = rows[0]
    assert (table, row) == ("public.patients", 1)
    assert columns[:3] == ["id", "first_name", "last_name"]
    assert values[3] == "219-09-9999" and "\n" in values[7]
    assert any(v is None for _, _, _, vals in rows for v in vals)  # \N is NULL
    custom = tmp_path / "custom.dump"
    custom.write_bytes(b"PGDMP\x01\x0e\x00")
    with pytest.raises(InputError, match="pg_restore"):
        list(DumpReader(custom))
    with pytest.raises(InputError, match="dialect"):
        DumpReader(sample, dialect="oracle")
    with pytest.raises(InputError):
        DumpReader(tmp_path / "missing.sql")
    # The dialect comes from the header: MariaDB's escapes are undone.
    mysql = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "mysql" / "extended.sql"
    first = next(iter(DumpReader(mysql)))
    assert first[0] == "patients" and first[3][7].startswith("Seen 03/14/2024.\nCall back")


def test_scan_many_leaves_the_garbage_collector_as_it_was():
    import gc

    s = Scanner()
    texts = ["SSN 219-09-9999"] * 1000
    assert gc.isenabled()
    found = s.scan_many(texts)
    assert len(found) == 1000 and found[999][0].entity == "SSN"
    assert gc.isenabled()
    gc.disable()
    try:
        s.scan_many(texts)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_scan_many_columns_is_scan_many_as_a_table():
    s = Scanner()
    texts = ["SSN 219-09-9999 and jo@clinic.example", "nothing", "é 😀 415-555-2671", "Quixote"]
    at, entity, start, end, score, pattern = s.scan_many_columns(texts, field="last_name")
    rows = list(zip(at, entity, start, end, score, pattern))
    want = [
        (i, f.entity, f.start, f.end, f.score, f.pattern_id)
        for i, found in enumerate(s.scan_many(texts, field="last_name"))
        for f in found
    ]
    assert rows == want and len(rows) >= 4
    assert s.scan_many_columns([]) == ([], [], [], [], [], [])


def test_dump_reader_reads_compressed_dumps(tmp_path):
    import gzip
    import pathlib

    from phisafe import DumpReader

    sample = pathlib.Path(__file__).resolve().parents[2] / "samples" / "clinic-pg_dump.sql"
    plain = list(DumpReader(sample))
    packed = tmp_path / "clinic.sql.gz"
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    assert list(DumpReader(packed)) == plain


def test_batches_work_in_a_forked_worker(in_child):
    # gunicorn --preload: the parent scanned in parallel before forking;
    # the child's batch calls must not wait on the parent's threads.
    s = Scanner()
    texts = [f"ssn 219-09-99{i % 90 + 10} mail a{i}@example.org" for i in range(2000)]
    expected = [[(f.entity, f.start, f.end) for f in found] for found in s.scan_many(texts)]
    redacted = s.redact_many(texts)

    def child():
        found = s.scan_many(texts)
        return [[[f.entity, f.start, f.end] for f in one] for one in found], s.redact_many(texts)

    found, child_redacted = in_child(child)
    assert [[tuple(f) for f in one] for one in found] == expected
    assert child_redacted == redacted
    assert sum(map(len, expected)) == 4000


def test_classifier_summarizes_columns_like_the_cli(tmp_path):
    import json
    import os
    import pathlib
    import subprocess

    rows = [(f"219-09-{1000 + i}" if i % 10 else "n/a", f"p{i}@example.org" if i % 3 else "")
            for i in range(60)]
    s = Scanner()
    c = phisafe.Classifier()
    c.observe_many("t.ssn", s.scan_many([r[0] for r in rows], field="ssn"))
    for r in rows:  # one row at a time gives the same counts
        c.observe("t.email", s.scan(r[1]))
    got = {x["column"]: x for x in c.summaries()}
    assert got["t.ssn"]["classification"] == "SSN" and got["t.ssn"]["rows"] == 60
    assert got["t.email"]["rows_with_findings"] == 40
    assert got["t.email"]["entities"][0]["entity"] == "EMAIL"

    # Scanning inside the classifier counts the same as observing findings.
    direct = phisafe.Classifier()
    direct.observe_texts("t.ssn", s, [r[0] for r in rows], field="ssn")
    direct.observe_texts("t.email", s, [r[1] for r in rows])
    assert direct.counts() == c.counts()

    # Counts shipped elsewhere and added back summarize the same.
    total = phisafe.Classifier()
    for column, n, hits, entities in c.counts():
        total.add(column, n, hits, entities)
    assert total.summaries() == c.summaries()
    total.merge(total)
    assert total.summaries()[0]["rows"] == 120

    # The CLI's per-column summary of the same values as a CSV.
    path = tmp_path / "t.csv"
    path.write_text("ssn,email\n" + "".join(f"{a},{b}\n" for a, b in rows))
    repo = pathlib.Path(__file__).resolve().parents[2]
    cli = os.environ.get("PHISAFE_BIN") or str(repo / "target" / "debug" / "phisafe")
    out = subprocess.run([cli, "scan", str(path), "--format", "json"], capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr
    for col in json.loads(out.stdout)["columns"]:
        mine = got[col["column"]]
        assert (mine["rows"], mine["rows_with_findings"], mine["classification"]) == (
            col["rows"], col["rows_with_findings"], col["classification"])
        assert [(e["entity"], e["rows"]) for e in mine["entities"]] == [
            (e["entity"], e["rows"]) for e in col["entities"]]

    with pytest.raises(PatternError):
        phisafe.Classifier(threshold=1.5)
    with pytest.raises(PatternError):
        total.add("x", 1, 1, [("NOT_AN_ENTITY", 1, 0.9)])


def test_operators_star_any_case_and_two_stage_redaction():
    s = phisafe.default_scanner()
    text = "SSN 219-09-9999, mail jo@clinic.example"
    assert s.redact(text, {"*": "MASK", "SSN": "Partial"}) == "SSN ***-**-9999, mail ***"
    # Findings filtered by the caller, or added: only those are redacted.
    found = [f for f in s.scan(text) if f.entity == "EMAIL"]
    assert s.redact(text, findings=found) == "SSN 219-09-9999, mail [EMAIL]"
    extra = phisafe.Finding("PERSON", 0, 3)
    assert s.redact(text, findings=[*found, extra]) == "[PERSON] 219-09-9999, mail [EMAIL]"
    # The scanner's own findings give the one-stage result, with non-ASCII text.
    uni = "Zoë's SSN 219-09-9999 ✓ jo@clinic.example"
    assert s.redact(uni, findings=s.scan(uni)) == s.redact(uni)
    with pytest.raises(InputError, match="beyond the text"):
        s.redact("short", findings=[phisafe.Finding("SSN", 0, 50)])
    with pytest.raises(phisafe.PatternError):
        phisafe.Finding("NOT_AN_ENTITY", 0, 1)


def test_redactor_with_functions_and_iterables():
    r = phisafe.Redactor(operators={"*": "tag", "EMAIL": lambda v, e: f"<{e.lower()}:{len(v)}>"})
    text = "SSN 219-09-9999, mail jo@clinic.example"
    assert r.redact(text) == "SSN [SSN], mail <email:17>"
    assert r.redact_many(t for t in [text, "none"]) == [r.redact(text), "none"]
    # Functions see the merged span; native operators match the engine's.
    plain = phisafe.Redactor(operators={"SSN": "partial"}, scanner=phisafe.default_scanner())
    mixed = phisafe.Redactor(operators={"SSN": "partial", "PERSON": lambda v, e: "P"})
    assert mixed.redact(text) == plain.redact(text) == "SSN ***-**-9999, mail [EMAIL]"
    with pytest.raises(phisafe.PatternError):
        phisafe.Redactor(operators={"SSN": "shred"})
    # Batch calls take any iterable of str, but not one str.
    s = phisafe.default_scanner()
    assert len(s.scan_many(iter([text, text]))) == 2
    assert s.redact_many((t for t in [text])) == [s.redact(text)]
    with pytest.raises(TypeError, match="not one str"):
        s.scan_many(text)
    with pytest.raises(TypeError, match="str items"):
        s.scan_many([text, 3])
