"""Print the throughput ratios of the last `cargo bench -p phisafe-benches` run.

Reads criterion's estimates under target/criterion and prints MB/s per
benchmark and the ratios BENCHMARKS.md records, all from the same run.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def mbps(group, bench):
    """MB/s, or None for a benchmark not measured in bytes (the crypto
    bench counts operations)."""
    base = ROOT / group / bench / "new"
    est = json.loads((base / "estimates.json").read_text())
    bench_json = json.loads((base / "benchmark.json").read_text())
    nbytes = (bench_json.get("throughput") or {}).get("Bytes")
    if nbytes is None:
        return None
    secs = est["median"]["point_estimate"] / 1e9
    return nbytes / secs / 1e6


def main():
    rows = {}
    for group in sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "report"):
        for bench in sorted((ROOT / group).rglob("benchmark.json")):
            name = str(bench.parent.parent.relative_to(ROOT / group))
            speed = mbps(group, name)
            if speed is not None:
                rows[(group, name)] = speed
    for (group, name), v in rows.items():
        print(f"{group:16} {name:28} {v:10.1f} MB/s")
    r = lambda a, b: rows[a] / rows[b]
    print()
    scan = ("sparse-log", "phisafe-scan")
    print(f"sparse-log scan / memchr:            {100 * r(scan, ('sparse-log', 'memchr-absent-byte')):.2f}%  (target >= 2.5%)")
    print(f"sparse-log scan / naive regexes:     {r(scan, ('sparse-log', 'naive-regex-per-pattern')):.1f}x  (target >= 20x)")
    print(f"sparse-log reader / whole buffer:    {r(('sparse-log', 'phisafe-scan-reader'), scan):.2f}")
    print(f"all entities / 5 entities:           {r(('entity-sweep', 'entities/23'), ('entity-sweep', 'entities/5')):.2f}  (target >= 0.5)")
    print(f"2 threads / 1 thread:                {r(('threads', 'scan-parallel/2'), ('threads', 'scan-parallel/1')):.2f}x  (target >= 1.7x)")


if __name__ == "__main__":
    sys.exit(main())
