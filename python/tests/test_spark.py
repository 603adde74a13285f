"""phisafe.spark in local[2]: the same findings as the single-process API,
the CLI's per-column summary, redaction that leaves nothing, stable
pseudonyms, and bad cells that do not fail the job."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

pyspark = pytest.importorskip("pyspark")
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from phisafe import Scanner  # noqa: E402
from phisafe.spark import (  # noqa: E402
    classify_columns,
    redact_dataframe,
    scan_dataframe,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
ROWS = int(os.environ.get("PHISAFE_SPARK_ROWS", "200000"))
COLUMNS = ["note", "email", "last_name", "ssn", "visit"]


@pytest.fixture(scope="module")
def spark():
    # Executors run this interpreter, where phisafe is installed.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    s = (
        SparkSession.builder.master("local[2]")
        .appName("phisafe-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "5000")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def patients(spark, rows=ROWS):
    """Synthetic rows with PHI in several columns (no NULLs, no commas)."""
    names = F.array(*[F.lit(n) for n in ["Quixote", "Lopez", "Okafor", "Nguyen", "Smith"]])
    i = F.col("id")
    return spark.range(1, rows + 1).select(
        i.alias("id"),
        F.when(i % 3 == 0, F.concat(F.lit("Patient called from 617-555-"), F.lpad((i % 10000).cast("string"), 4, "0")))
        .when(i % 3 == 1, F.concat(F.lit("SSN on file 219-09-"), F.lpad((i % 10000).cast("string"), 4, "0")))
        .otherwise(F.lit("no identifiers in this note"))
        .alias("note"),
        F.concat(F.lit("user"), (i % 5000).cast("string"), F.lit("@example.org")).alias("email"),
        F.element_at(names, (i % 5 + 1).cast("int")).alias("last_name"),
        F.concat(F.lit("9"), F.lpad((i % 100).cast("string"), 2, "0"), F.lit("-"),
                 F.lpad((i % 97).cast("string"), 2, "0"), F.lit("-"),
                 F.lpad((i % 10000).cast("string"), 4, "0")).alias("ssn"),
        F.lit("2024-03-05").alias("visit"),
    )


def test_scan_dataframe_equals_scan_many(spark):
    df = patients(spark).repartition(6)
    got = {
        (r.row_key, r.column, r.entity, r.start, r.end, r.pattern_id)
        for r in scan_dataframe(df, COLUMNS, key="id").collect()
    }
    local = df.toPandas()
    scanner = Scanner()
    want = set()
    for col in COLUMNS:
        values = [str(v) for v in local[col]]
        for key, found in zip(local["id"], scanner.scan_many(values, field=col)):
            for f in found:
                want.add((str(key), col, f.entity, f.start, f.end, f.pattern_id))
    assert len(want) > ROWS  # several findings per row
    assert got == want


def test_classify_columns_agrees_with_the_cli(spark, tmp_path):
    path = tmp_path / "data.csv"
    patients(spark, 20000).toPandas().to_csv(path, index=False)
    df = spark.read.option("header", True).csv(str(path))
    spark_summary = {s["column"]: s for s in classify_columns(df)}
    cli = os.environ.get("PHISAFE_BIN") or str(REPO / "target" / "debug" / "phisafe")
    out = subprocess.run([cli, "scan", str(path), "--format", "json"], capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr
    for c in json.loads(out.stdout)["columns"]:
        name = c["column"].removeprefix("data.")
        s = spark_summary[name]
        assert (s["rows"], s["rows_with_findings"], s["classification"]) == (
            c["rows"], c["rows_with_findings"], c["classification"]), name
        assert [(e["entity"], e["rows"]) for e in s["entities"]] == [
            (e["entity"], e["rows"]) for e in c["entities"]], name
    assert spark_summary["ssn"]["classification"] == "SSN"
    assert spark_summary["last_name"]["classification"] == "PERSON"
    assert spark_summary["email"]["classification"] == "EMAIL"


def test_redacted_columns_scan_clean(spark):
    df = patients(spark, 30000)
    redacted = redact_dataframe(df, COLUMNS)
    assert scan_dataframe(redacted, COLUMNS, key="id").count() == 0
    row = redacted.where("id = 3").first()
    assert row.note == "Patient called from [PHONE]" and row.id == 3


def test_pseudonyms_are_stable_across_partitions_and_runs(spark):
    key = b"spark-test-pseudonym-key"
    ops = {"EMAIL": "hash", "SSN": "hash"}
    df = patients(spark, 20000)

    def run(parts):
        out = redact_dataframe(df.repartition(parts), ["email", "ssn"], operators=ops, hash_key=key)
        return {r.id: (r.email, r.ssn) for r in out.collect()}

    a, b = run(3), run(7)
    assert a == b
    assert a[1][0].startswith("[EMAIL:") and a[1][0] != "user1@example.org"
    # Equal values, equal pseudonyms: rows 1 and 5001 share an address,
    # so a join on the pseudonymized column still pairs them.
    assert a[1][0] == a[5001][0] and a[1][0] != a[2][0]
    with pytest.raises(Exception):
        redact_dataframe(df, ["email"], operators=ops, hash_key=b"short")


def test_nulls_numbers_and_binary_do_not_fail_the_job(spark):
    from pyspark.sql.types import BinaryType, LongType, StringType, StructField, StructType

    schema = StructType([
        StructField("id", LongType()),
        StructField("text", StringType()),
        StructField("ssn_number", LongType()),
        StructField("raw", BinaryType()),
    ])
    df = spark.createDataFrame(
        [
            (1, None, 219099999, b"\xff\xfe SSN 219-09-9999"),
            (2, "mail me at a@example.org", None, None),
            (3, "", 12, bytes(range(256))),
        ],
        schema,
    )
    found = {(r.row_key, r.column, r.entity) for r in scan_dataframe(df, key="id").collect()}
    assert ("1", "raw", "SSN") in found
    assert ("1", "ssn_number", "SSN") in found  # the column name is context
    assert ("2", "text", "EMAIL") in found
    redacted = redact_dataframe(df, ["text", "raw"]).orderBy("id").collect()
    assert redacted[0].text is None and redacted[1].raw is None
    assert "[SSN]" in redacted[0].raw
    assert classify_columns(df, ["text"])[0]["rows"] == 2


def test_command_line_entry_point(spark, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({"id": i, "note": f"SSN 219-09-{i:04d}"}) for i in range(1, 51)))
    out = tmp_path / "findings"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    run = subprocess.run(
        [sys.executable, "-m", "phisafe.spark", "scan", str(src), "--format", "jsonl",
         "--key", "id", "--output", str(out), "--master", "local[1]"],
        capture_output=True, text=True, env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for p in out.glob("part-*.json") for line in p.read_text().splitlines()]
    assert len(rows) == 50 and {r["entity"] for r in rows} == {"SSN"}


def test_read_dump_gives_a_dataframe_per_table(spark, tmp_path):
    from phisafe.spark import read_dump

    dump = str(REPO / "samples" / "clinic-pg_dump.sql")
    frames = read_dump(spark, dump, staging=str(tmp_path / "stage"), chunk_rows=2)
    assert {"public.patients", "public.visits"} <= set(frames)
    patients = frames["public.patients"]
    assert patients.columns[:4] == ["id", "first_name", "last_name", "ssn"]
    rows = {r.id: r for r in patients.collect()}
    assert rows["1"].ssn == "219-09-9999"
    assert rows["1"].note == "Seen 03/14/2024.\nCall back re: results\tSSN 536-22-1837"
    assert rows["2"].ssn is None
    # The same rows as the parser itself gives, table by table.
    from phisafe import DumpReader

    counts = {}
    for table, _cols, _row, _values in DumpReader(dump):
        counts[table] = counts.get(table, 0) + 1
    assert {t: df.count() for t, df in frames.items()} == counts
    summary = {s["column"]: s["classification"] for s in classify_columns(patients)}
    assert summary["ssn"] == "SSN" and summary["email"] == "EMAIL"


def test_an_executor_without_phisafe_says_how_to_ship_it(tmp_path):
    """What Spark ships to executors unpickles without phisafe and, run
    there, says how to ship it instead of "No module named 'phisafe'"."""
    from pyspark import cloudpickle

    from phisafe.spark import _shipped

    shipped = tmp_path / "shipped.pickle"
    shipped.write_bytes(
        cloudpickle.dumps(_shipped("_scan_batches", ["note"], {"column_names": True}))
    )
    # An executor's Python where phisafe cannot be imported.
    probe = (
        "import pickle, sys\n"
        "sys.modules['phisafe'] = None\n"
        f"run = pickle.loads(open({str(shipped)!r}, 'rb').read())\n"
        "try:\n"
        "    run(iter([]))\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert "not installed in this Spark executor's Python" in out.stdout, out
    assert "--archives env.tar.gz#env" in out.stdout
    assert sys.executable in out.stdout
    # Where phisafe is there, the same bytes do the work.
    run = cloudpickle.loads(shipped.read_bytes())
    assert list(run(iter([]))) == []
