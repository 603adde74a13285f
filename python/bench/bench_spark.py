"""phisafe.spark throughput (BENCHMARKS.md, issue 7).

scan_dataframe in Spark local[N] against single-process scan_many on the
same values, in the same run, and the share of Spark time spent outside
the Rust scanner (a pass that moves the same Arrow batches through Python
without scanning). Build the extension in release mode first:

    VIRTUAL_ENV=$PWD/target/py-venv target/py-venv/bin/maturin develop --release -m python/Cargo.toml
    target/py-venv/bin/python python/bench/bench_spark.py [ROWS] [local[2]]
"""

import os
import sys

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import best  # noqa: E402

from phisafe import Scanner  # noqa: E402
from phisafe.spark import _column_texts, scan_dataframe  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
MASTER = sys.argv[2] if len(sys.argv) > 2 else "local[2]"
COLUMNS = ["note", "email", "ssn"]


def main():
    spark = (
        SparkSession.builder.master(MASTER)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    i = F.col("id")
    df = (
        spark.range(ROWS)
        .select(
            i,
            F.concat(F.lit("Follow-up call to 617-555-"), F.lpad((i % 10000).cast("string"), 4, "0"),
                     F.lit(" about the referral; patient prefers mornings and e-mail")).alias("note"),
            F.concat(F.lit("user"), i.cast("string"), F.lit("@example.org")).alias("email"),
            F.concat(F.lit("219-09-"), F.lpad((i % 10000).cast("string"), 4, "0")).alias("ssn"),
        )
        .cache()
    )
    df.count()
    local = df.toPandas()
    values = {c: [str(v) for v in local[c]] for c in COLUMNS}
    megabytes = sum(len(v.encode()) for c in COLUMNS for v in values[c]) / 1e6

    scanner = Scanner()
    single = best(lambda: [scanner.scan_many(values[c], field=c) for c in COLUMNS], repeat=3)
    one_core = _one_thread(values)

    def spark_scan():
        scan_dataframe(df, COLUMNS, key="id").write.format("noop").mode("overwrite").save()

    def spark_moves_only():
        # The same batches through Python and back, without scanning.
        import pyarrow as pa

        def touch(batches):
            for b in batches:
                for c in range(1, b.num_columns):
                    _column_texts(b.column(c))
                yield pa.RecordBatch.from_pydict({"n": [b.num_rows]})

        df.select("id", *COLUMNS).mapInArrow(touch, "n long").write.format("noop").mode("overwrite").save()

    spark_scan()  # warm the executors' scanners
    distributed = best(spark_scan, repeat=3)
    overhead = best(spark_moves_only, repeat=3)
    print(f"rows {ROWS}, {megabytes:.1f} MB of text in {len(COLUMNS)} columns, {MASTER}, cores {os.cpu_count()}")
    print(f"scan_many, one process:   {ROWS / single:>10.0f} rows/s {megabytes / single:7.1f} MB/s")
    print(f"scan_dataframe, Spark:    {ROWS / distributed:>10.0f} rows/s {megabytes / distributed:7.1f} MB/s")
    print(f"scan_many, one thread:    {ROWS / one_core:>10.0f} rows/s {megabytes / one_core:7.1f} MB/s")
    print(f"Spark / single process:   {single / distributed:.2f}x (target >= 1.3x)")
    print(f"Spark / one thread:       {one_core / distributed:.2f}x")
    print(f"time outside the scanner: {overhead / distributed:.0%} (target < 50%)")
    spark.stop()


def _one_thread(values):
    """Seconds for the same scan_many calls in a process whose pool has
    one thread (the pool is sized when a process first scans in parallel,
    so it takes a process of its own)."""
    import json
    import subprocess
    import tempfile

    code = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from bench import best\n"
        "from phisafe import Scanner\n"
        "values = json.load(open(sys.argv[1]))\n"
        "s = Scanner()\n"
        "print(best(lambda: [s.scan_many(v, field=c) for c, v in values.items()], repeat=3))\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(values, f)
        f.flush()
        out = subprocess.run(
            [sys.executable, "-c", code, f.name, os.path.dirname(os.path.abspath(__file__))],
            env={**os.environ, "RAYON_NUM_THREADS": "1"},
            capture_output=True, text=True, check=True,
        )
    return float(out.stdout.strip())


if __name__ == "__main__":
    main()
