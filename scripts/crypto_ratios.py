"""Print the field-encryption ratios of the last `cargo bench --bench crypto`
run (and pgcrypto's, when scripts/bench_crypto.sh measured it).

Reads criterion's estimates under target/criterion; every ratio compares
numbers of the same run.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def ops(group, bench):
    """Operations (values) per second, from the median."""
    base = ROOT / group / bench / "new"
    est = json.loads((base / "estimates.json").read_text())
    meta = json.loads((base / "benchmark.json").read_text())
    per_iter = meta["throughput"]["Elements"]
    return per_iter / (est["median"]["point_estimate"] / 1e9)


def main():
    pg_file = ROOT / "pgcrypto.json"
    pg = json.loads(pg_file.read_text()) if pg_file.exists() else {}
    for size in (32, 256):
        g = f"crypto-{size}"
        if not (ROOT / g).exists():
            continue
        rows = {}
        for bench in sorted(p.name for p in (ROOT / g).iterdir() if p.is_dir() and p.name != "report"):
            rows[bench] = ops(g, bench)
        print(f"== {size}-byte values")
        for name, v in rows.items():
            print(f"  {name:34} {v / 1e3:10.1f} k ops/s  {1e9 / v:9.1f} ns/op")
        seal, opn = rows["raw-aes-gcm-seal"], rows["raw-aes-gcm-open"]
        # The issue sets its targets for the encrypt path; single-value
        # decrypts are held to the same bars, reported as such.
        checks = [
            ("encrypt, no audit / raw seal", rows["encrypt-no-audit"] / seal, 0.5, True),
            ("decrypt, no audit / raw open", rows["decrypt-no-audit"] / opn, 0.5, False),
            ("encrypt, JSONL audit / raw seal", rows["encrypt-jsonl-audit"] / seal, 0.1, True),
            ("decrypt, JSONL audit / raw open", rows["decrypt-jsonl-audit"] / opn, 0.1, False),
            ("encrypt_many(1000), JSONL audit / raw seal", rows["encrypt-many-1000-jsonl-audit"] / seal, 0.5, True),
            ("decrypt_many(1000), JSONL audit / raw open", rows["decrypt-many-1000-jsonl-audit"] / opn, 0.5, True),
        ]
        for label, ratio, target, issue in checks:
            mark = "met" if ratio >= target else "NOT met"
            kind = "target" if issue else "encrypt's bar"
            print(f"  {label:44} {100 * ratio:6.1f}%  ({kind} >= {100 * target:.0f}%: {mark})")
        for op, ours in (("encrypt", "encrypt-no-audit"), ("decrypt", "decrypt-no-audit")):
            if f"{op}-{size}" in pg:
                pg_ops = pg[f"{op}-{size}"]
                ratio = rows[ours] / pg_ops
                mark = "met" if ratio >= 100 else "NOT met"
                print(f"  {op} / pgcrypto pgp_sym_{op} ({pg_ops:,.0f}/s)    {ratio:6.0f}x   (target >= 100x: {mark})")


if __name__ == "__main__":
    sys.exit(main())
