"""Generate the synthetic labelled corpus, or dense mixed text for benches.

Every value is invented (see scripts/corpus/values.py). Deterministic: the
same arguments give the same bytes.

    python3 scripts/gen_corpus.py --docs 5000 > corpus.jsonl
    python3 scripts/gen_corpus.py --dense 67108864 > dense-mixed.txt

Each corpus line is {"id", "genre", "template", "format", "ext", "text",
"labels": [{"entity", "start", "end"}]}, offsets in UTF-8 bytes of "text".
"format" says how to read the text: text, json, jsonl, csv, pg-dump,
mysql-dump or sql (statements that are not a pure dump); "ext" is the file
extension such a file would carry.

Genres and their share: clinical notes (34 kinds), logs (31 formats and
free-text lines), HL7 v2 and DICOM, JSON (FHIR, API payloads, webhooks,
event lines) and tables (CSV in four delimiters with and without headers
and preambles, lists of one column, writers that do not quote or escape,
records exported a field per row, pg_dump COPY and INSERT forms,
mysqldump, psql sessions, hand-written SQL).
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import hl7, logs, notes, payloads, tables, values  # noqa: E402
from corpus.doc import Doc  # noqa: E402

MAKERS = [
    (notes.make, 30), (logs.make, 30), (hl7.make_hl7, 7), (hl7.make_dicom, 3),
    (payloads.make_json, 7), (payloads.make_jsonl, 3),
    (tables.make_csv, 9), (tables.make_kv_table, 2), (tables.make_pg_dump, 4), (tables.make_mysqldump, 2),
    (tables.make_psql_transcript, 2), (tables.make_hand_sql, 2),
]


def factory(genre, template, fmt="text", ext=None):
    return Doc(genre, template, fmt, ext or {"text": "txt"}.get(fmt, "txt"))


def docs(seed):
    values.seed(seed)
    weights = [w for _, w in MAKERS]
    makers = [m for m, _ in MAKERS]
    while True:
        make = values.R.choices(makers, weights)[0]
        yield make(factory)


def check(doc):
    text = doc.text().encode()
    for l in doc.labels:
        assert 0 <= l["start"] < l["end"] <= len(text), (doc.template, l)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=5000, help="documents in the labelled corpus")
    ap.add_argument("--dense", type=int, metavar="BYTES", help="write this much mixed text instead")
    ap.add_argument("--seed", type=int, default=20261203)
    args = ap.parse_args()
    out = sys.stdout.buffer
    if args.dense:
        written = 0
        for d in docs(args.seed + 1):
            b = d.text().encode()
            b += b"\n" if b.endswith(b"\n") else b"\n\n"
            out.write(b)
            written += len(b)
            if written >= args.dense:
                break
        return
    for i, d in zip(range(args.docs), docs(args.seed)):
        check(d)
        out.write(json.dumps(d.json(i), ensure_ascii=False).encode() + b"\n")


if __name__ == "__main__":
    main()
