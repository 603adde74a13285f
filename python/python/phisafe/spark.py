"""Scanning, classification and redaction of Spark DataFrames.

Install with ``pip install phisafe[spark]``. Work runs on the executors
with ``mapInArrow``: each Arrow batch of a column crosses into the Rust
engine once (``Scanner.scan_many`` / ``redact_many``, parallel inside), so
results are exactly those of the single-process API on the same values.

The native scanner cannot be pickled; a small :class:`ScannerConfig`
travels to the executors instead, and each executor process builds the
scanner once and caches it.

>>> from phisafe.spark import ScannerConfig
>>> ScannerConfig(entities=("SSN",)).build().scan("SSN 219-09-9999")[0].entity
'SSN'
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Optional

from phisafe._native import Classifier, Scanner

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa  # type: ignore[import-untyped]
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "FINDINGS_SCHEMA",
    "ScannerConfig",
    "classify_columns",
    "read_dump",
    "redact_dataframe",
    "scan_dataframe",
]

#: Columns of :func:`scan_dataframe`'s result. Offsets are string indices
#: into the column's value (its text, for non-string columns).
FINDINGS_SCHEMA = (
    "row_key string, column string, entity string, start int, end int, "
    "score float, pattern_id string"
)

_ROW_KEY = "__phisafe_row_key"
_DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ScannerConfig:
    """What a :class:`phisafe.Scanner` is built from; small and picklable.

    ``column_names``: scan each value with its column's name as context
    (a ``last_name`` column holds names even where no pattern matches), as
    the CLI does with CSV headers and JSON keys.
    """

    entities: Optional[tuple[str, ...]] = None
    min_score: Optional[float] = None
    allow: Optional[tuple[str, ...]] = None
    column_names: bool = True

    def build(self) -> Scanner:
        """This process's scanner for the config, built once."""
        with _LOCK:
            scanner = _SCANNERS.get(self)
            if scanner is None:
                scanner = Scanner(
                    entities=list(self.entities) if self.entities else None,
                    min_score=self.min_score,
                    allow=list(self.allow) if self.allow else None,
                )
                _SCANNERS[self] = scanner
            return scanner


_LOCK = threading.Lock()
_SCANNERS: dict[ScannerConfig, Scanner] = {}


def _on_executor(config: ScannerConfig) -> Scanner:
    """The scanner, in a Python worker of an executor.

    Spark already runs one task per core, so the engine's own thread pool
    is held to one thread per task unless ``RAYON_NUM_THREADS`` says
    otherwise (two pools over the same cores were measurably slower).
    The pool reads the variable when first used, in this worker process.
    """
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    return config.build()


#: What an executor whose Python cannot import phisafe raises.
_NOT_INSTALLED = (
    "phisafe is not installed in this Spark executor's Python ({python}). "
    "Ship it with the job: python -m venv env && env/bin/pip install "
    "'phisafe[spark]' venv-pack && env/bin/venv-pack -o env.tar.gz, then "
    "spark-submit --archives env.tar.gz#env --conf "
    "spark.pyspark.python=./env/bin/python ...; or install the wheel on every "
    "node (see the README's Spark section)."
)


def _shipped(entry: str, *args: Any) -> Callable[[Iterable[Any]], Iterator[Any]]:
    """The function a ``mapInArrow`` sends to the executors: it calls
    ``phisafe.spark.<entry>(*args, batches)`` there.

    Spark pickles it by value (it is not importable by name) and it
    imports phisafe only when it runs, with plain data in `args`, so an
    executor without phisafe gets a message that says what to do instead
    of an unpickling error about a missing module.
    """
    message = _NOT_INSTALLED

    def run(batches: Iterable[Any]) -> Iterator[Any]:
        import sys

        try:
            import phisafe.spark as module
        except ImportError as e:
            raise RuntimeError(message.format(python=sys.executable)) from e
        work: Callable[..., Iterator[Any]] = getattr(module, entry)
        return work(*args, batches)

    return run


def _text(value: Any) -> Optional[str]:
    """A cell as the text that is scanned; None for SQL NULL.

    Binary is decoded as UTF-8 with replacement characters (offsets then
    index that text); nested values are scanned as their JSON.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _texts(values: list[Any]) -> tuple[list[int], list[str]]:
    """The non-null cells of a column: their positions and texts."""
    index: list[int] = []
    texts: list[str] = []
    for i, v in enumerate(values):
        t = _text(v)
        if t is not None:
            index.append(i)
            texts.append(t)
    return index, texts


def _column_texts(column: Any) -> tuple[Optional[list[int]], list[str]]:
    """:func:`_texts` of an Arrow column; a string column without NULLs
    (the common case) is taken as it is, `None` standing for "every
    position"."""
    import pyarrow as pa

    values = column.to_pylist()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        if column.null_count == 0:
            return None, values
        index = [i for i, v in enumerate(values) if v is not None]
        return index, [values[i] for i in index]
    return _texts(values)


def _columns(df: DataFrame, columns: Optional[Sequence[str]], key: Optional[str]) -> list[str]:
    names = list(columns) if columns is not None else [c for c in df.columns if c != key]
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ValueError(f"no such column(s): {', '.join(missing)}")
    if key is not None and key not in df.columns:
        raise ValueError(f"no such key column: {key}")
    return names


def _config(
    entities: Optional[Sequence[str]],
    min_score: Optional[float],
    allow: Optional[Sequence[str]],
    column_names: bool,
) -> ScannerConfig:
    config = ScannerConfig(
        entities=tuple(entities) if entities else None,
        min_score=min_score,
        allow=tuple(allow) if allow else None,
        column_names=column_names,
    )
    config.build()  # bad entity names or scores fail here, on the driver
    return config


def _keyed(df: DataFrame, key: Optional[str]) -> tuple[DataFrame, str]:
    """`df` with a string row key: `key` as text, or a generated id."""
    from pyspark.sql import functions as F

    if key is None:
        return df.withColumn(_ROW_KEY, F.monotonically_increasing_id().cast("string")), _ROW_KEY
    return df.withColumn(_ROW_KEY, F.col(key).cast("string")), _ROW_KEY


def scan_dataframe(
    df: DataFrame,
    columns: Optional[Sequence[str]] = None,
    *,
    key: Optional[str] = None,
    entities: Optional[Sequence[str]] = None,
    min_score: Optional[float] = None,
    allow: Optional[Sequence[str]] = None,
    column_names: bool = True,
) -> DataFrame:
    """The findings in `columns` (default: all but `key`) of `df`.

    One row per finding, with :data:`FINDINGS_SCHEMA`: the row's `key`
    value as text (or a generated id, unique but not stable across runs),
    the column, entity, string offsets, score and pattern id. NULLs are
    skipped; other non-string values are scanned as their text.
    """
    names = _columns(df, columns, key)
    config = _config(entities, min_score, allow, column_names)
    keyed, row_key = _keyed(df, key)
    selected = keyed.select(row_key, *names)

    scan = _shipped("_scan_batches", names, asdict(config))
    return selected.mapInArrow(scan, FINDINGS_SCHEMA)


def _scan_batches(
    names: list[str], fields: dict[str, Any], batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """The executor side of :func:`scan_dataframe`."""
    import pyarrow as pa

    config = ScannerConfig(**fields)
    scanner = _on_executor(config)
    schema = _findings_arrow_schema()
    for batch in batches:
        keys = batch.column(0).to_pylist()
        out: dict[str, list[Any]] = {f.name: [] for f in schema}
        for c, name in enumerate(names, start=1):
            index, texts = _column_texts(batch.column(c))
            field = name if config.column_names else None
            # Findings as columns, built in Rust: no per-finding Python.
            at, entity, start, end, score, pattern = scanner.scan_many_columns(
                texts, field=field
            )
            rows = at if index is None else [index[i] for i in at]
            out["row_key"].extend([keys[i] for i in rows])
            out["column"].extend([name] * len(at))
            out["entity"].extend(entity)
            out["start"].extend(start)
            out["end"].extend(end)
            out["score"].extend(score)
            out["pattern_id"].extend(pattern)
        yield pa.RecordBatch.from_pydict(out, schema=schema)


def _findings_arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("row_key", pa.string()),
            ("column", pa.string()),
            ("entity", pa.string()),
            ("start", pa.int32()),
            ("end", pa.int32()),
            ("score", pa.float32()),
            ("pattern_id", pa.string()),
        ]
    )


def classify_columns(
    df: DataFrame,
    columns: Optional[Sequence[str]] = None,
    *,
    entities: Optional[Sequence[str]] = None,
    min_score: Optional[float] = None,
    allow: Optional[Sequence[str]] = None,
    column_names: bool = True,
    threshold: float = _DEFAULT_THRESHOLD,
) -> list[dict[str, Any]]:
    """Which entity each column holds, the CLI's per-column summary.

    For every column, in name order: ``column``, ``rows`` (non-null
    values), ``rows_with_findings``, ``share``, ``classification`` (the
    entity found in the most rows, when that is at least `threshold` of
    them; else None) and ``entities`` (each entity's ``rows`` and
    ``mean_score`` of its best score per row, most rows first). Counting
    runs on the executors; only one small row per column and entity comes
    back to the driver.
    """
    from pyspark.sql import functions as F

    names = _columns(df, columns, None)
    config = _config(entities, min_score, allow, column_names)
    schema = "column string, entity string, rows long, score double"

    count = _shipped("_count_batches", names, asdict(config), threshold)

    totals = (
        df.select(*names)
        .mapInArrow(count, schema)
        .groupBy("column", "entity")
        .agg(F.sum("rows").alias("rows"), F.sum("score").alias("score"))
        .collect()
    )
    by_column: dict[str, dict[str, tuple[int, float]]] = {n: {} for n in names}
    for r in totals:
        by_column[r["column"]][r["entity"]] = (int(r["rows"]), float(r["score"]))
    summary = Classifier(threshold)
    for name, counts in by_column.items():
        found = [(e, n, s) for e, (n, s) in counts.items() if e not in ("", "*")]
        summary.add(name, counts.get("", (0, 0.0))[0], counts.get("*", (0, 0.0))[0], found)
    return summary.summaries()


def _count_batches(
    names: list[str],
    fields: dict[str, Any],
    threshold: float,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """The executor side of :func:`classify_columns`."""
    import pyarrow as pa

    config = ScannerConfig(**fields)
    scanner = _on_executor(config)
    counts = Classifier(threshold)  # the whole partition's
    for batch in batches:
        for c, name in enumerate(names):
            _, texts = _column_texts(batch.column(c))
            field = name if config.column_names else None
            counts.observe_texts(name, scanner, texts, field=field)
    # One row per (column, entity); "" carries a column's rows and "*"
    # its rows with findings, so Spark can sum them all alike.
    out: dict[str, list[Any]] = {"column": [], "entity": [], "rows": [], "score": []}
    for column, rows, hits, entities in counts.counts():
        for entity, n, score in [("", rows, 0.0), ("*", hits, 0.0), *entities]:
            out["column"].append(column)
            out["entity"].append(entity)
            out["rows"].append(n)
            out["score"].append(score)
    yield pa.RecordBatch.from_pydict(
        out,
        schema=pa.schema(
            [
                ("column", pa.string()),
                ("entity", pa.string()),
                ("rows", pa.int64()),
                ("score", pa.float64()),
            ]
        ),
    )


def redact_dataframe(
    df: DataFrame,
    columns: Sequence[str],
    *,
    operators: Optional[Mapping[str, str]] = None,
    hash_key: Optional[bytes] = None,
    entities: Optional[Sequence[str]] = None,
    min_score: Optional[float] = None,
    allow: Optional[Sequence[str]] = None,
    column_names: bool = True,
) -> DataFrame:
    """`df` with `columns` redacted; other columns untouched.

    `operators` maps entity names to ``mask``, ``tag`` (default),
    ``partial``, ``hash`` or ``remove``. ``hash`` replaces a value with a
    keyed pseudonym (HMAC-SHA256 under `hash_key`, 16 bytes or more): the
    same value gives the same pseudonym in every partition and every job
    with that key, so joins on pseudonymized columns still work. Redacted
    columns become strings (NULLs stay NULL).
    """
    from pyspark.sql.types import StringType, StructField, StructType

    names = _columns(df, columns, None)
    config = _config(entities, min_score, allow, column_names)
    ops = dict(operators) if operators else None
    if ops is not None or hash_key is not None:
        # Unknown operators or a short key fail here, on the driver.
        config.build().redact_many([""], operators=ops, hash_key=hash_key)
    out_schema = StructType(
        [
            StructField(f.name, StringType(), True) if f.name in names else f
            for f in df.schema.fields
        ]
    )
    positions = [i for i, f in enumerate(df.schema.fields) if f.name in names]

    redact = _shipped("_redact_batches", positions, asdict(config), ops, hash_key)
    return df.mapInArrow(redact, out_schema)


def _redact_batches(
    positions: list[int],
    fields: dict[str, Any],
    ops: Optional[dict[str, str]],
    hash_key: Optional[bytes],
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """The executor side of :func:`redact_dataframe`."""
    import pyarrow as pa

    config = ScannerConfig(**fields)
    scanner = _on_executor(config)
    for batch in batches:
        arrays = list(batch.columns)
        for i in positions:
            index, texts = _column_texts(arrays[i])
            field = batch.schema.field(i).name if config.column_names else None
            redacted = scanner.redact_many(
                texts, operators=ops, hash_key=hash_key, field=field
            )
            column: list[Optional[str]]
            if index is None:  # no NULLs: one value per row, in order
                column = list(redacted)
            else:
                column = [None] * len(arrays[i])
                for j, r in zip(index, redacted):
                    column[j] = r
            arrays[i] = pa.array(column, type=pa.string())
        yield pa.RecordBatch.from_arrays(
            arrays,
            schema=pa.schema(
                [
                    pa.field(f.name, pa.string()) if k in positions else f
                    for k, f in enumerate(batch.schema)
                ]
            ),
        )


def read_dump(
    spark: SparkSession,
    path: str,
    *,
    dialect: str = "auto",
    staging: Optional[str] = None,
    chunk_rows: int = 100_000,
) -> dict[str, DataFrame]:
    """Each table of a plain-SQL dump as a DataFrame of string columns.

    The dump (``pg_dump`` COPY blocks and INSERTs, or ``mysqldump``
    INSERTs; plain, gzip or zstd) is parsed once, on the driver, by phisafe's own dump parser
    (:class:`phisafe.DumpReader`), in bounded memory: rows go to Parquet
    files under `staging`, `chunk_rows` at a time, one directory per
    table, which Spark then reads. `staging` defaults to a new temporary
    directory; on a cluster, give a path the executors can read. Values
    are text, NULLs stay NULL; columns are named from the COPY/INSERT
    column list or the CREATE TABLE (``c1``, ``c2``... when neither says).
    `dialect` is ``auto`` (from the dump's header), ``postgres`` or ``mysql``.
    """
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    from phisafe._native import DumpReader

    root = staging or tempfile.mkdtemp(prefix="phisafe-dump-")
    schemas: dict[str, list[str]] = {}
    buffers: dict[str, list[list[Optional[str]]]] = {}
    writers: dict[str, Any] = {}
    dirs: dict[str, str] = {}

    def flush(table: str) -> None:
        rows = buffers.get(table)
        if not rows:
            return
        names = schemas[table]
        schema = pa.schema([(n, pa.string()) for n in names])
        if table not in writers:
            safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in table)
            dirs[table] = f"{root}/{safe}-{len(dirs)}"
            os.makedirs(dirs[table], exist_ok=True)
            writers[table] = pq.ParquetWriter(f"{dirs[table]}/part-0.parquet", schema)
        columns: list[Sequence[Optional[str]]] = [list(c) for c in zip(*rows)]
        writers[table].write_batch(
            pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], schema=schema)
        )
        rows.clear()

    try:
        for table, columns, _row, values in DumpReader(path, dialect):
            names = schemas.get(table)
            if names is None:
                names = list(columns) or [f"c{i + 1}" for i in range(len(values))]
                schemas[table] = names
            if len(values) != len(names):  # a ragged row: pad or cut to the table's columns
                values = (values + [None] * len(names))[: len(names)]
            buffers.setdefault(table, []).append(values)
            if len(buffers[table]) >= chunk_rows:
                flush(table)
        for table in list(buffers):
            flush(table)
    finally:
        for w in writers.values():
            w.close()
    return {table: spark.read.parquet(d) for table, d in dirs.items()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m phisafe.spark scan|classify|redact INPUT ...``."""
    import argparse

    from pyspark.sql import SparkSession

    p = argparse.ArgumentParser(prog="python -m phisafe.spark", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["scan", "classify", "redact"])
    p.add_argument("input", help="a file or directory Spark can read")
    p.add_argument("--format", choices=["parquet", "csv", "jsonl", "pg-dump", "mysql-dump"],
                   default="parquet", help="input format (output: parquet, or jsonl/csv as given)")
    p.add_argument("--output", help="output directory (scan: findings, redact: the data)")
    p.add_argument("--columns", help="comma-separated columns (default: all)")
    p.add_argument("--key", help="column identifying rows (scan)")
    p.add_argument("--entities", help="comma-separated entity types")
    p.add_argument("--min-score", type=float)
    p.add_argument("--operator", action="append", default=[], metavar="ENTITY=OP",
                   help="redact: operator per entity (mask, tag, partial, hash, remove)")
    p.add_argument("--hash-key-env", metavar="VAR",
                   help="redact: environment variable holding the pseudonym key")
    p.add_argument("--master", default=None, help="Spark master (default: from spark-submit)")
    args = p.parse_args(argv)

    builder = SparkSession.builder.appName(f"phisafe {args.command}")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    reader = spark.read
    frames: dict[str, DataFrame]
    if args.format in ("pg-dump", "mysql-dump"):
        dialect = "postgres" if args.format == "pg-dump" else "mysql"
        frames = read_dump(spark, args.input, dialect=dialect)
    elif args.format == "parquet":
        frames = {"": reader.parquet(args.input)}
    elif args.format == "csv":
        frames = {"": reader.option("header", True).csv(args.input)}
    else:
        frames = {"": reader.json(args.input)}
    columns = args.columns.split(",") if args.columns else None
    entities = args.entities.split(",") if args.entities else None
    if args.command != "classify" and not args.output:
        p.error(f"{args.command} needs --output")
    for table, df in frames.items():
        prefix = f"{table}." if table else ""
        cols = [c for c in columns if c in df.columns] if columns else None
        if args.command == "classify":
            for summary in classify_columns(df, cols, entities=entities, min_score=args.min_score):
                summary["column"] = prefix + summary["column"]
                print(json.dumps(summary))
            continue
        if args.command == "scan":
            key = args.key if args.key in df.columns else None
            result = scan_dataframe(df, cols, key=key, entities=entities,
                                    min_score=args.min_score)
        else:
            ops = dict(o.split("=", 1) for o in args.operator) or None
            secret = os.environ[args.hash_key_env].encode() if args.hash_key_env else None
            result = redact_dataframe(df, cols or df.columns, operators=ops, hash_key=secret,
                                      entities=entities, min_score=args.min_score)
        out = f"{args.output}/{table}" if table else args.output
        writer = result.write.mode("overwrite")
        if args.format == "csv":
            writer.option("header", True).csv(out)
        elif args.format == "jsonl":
            writer.json(out)
        else:
            writer.parquet(out)
    spark.stop()
    return 0


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: the functions
    # shipped to executors must be importable there (pickled by reference),
    # not pickled by value with this module's globals.
    from phisafe.spark import main as _main

    raise SystemExit(_main())
