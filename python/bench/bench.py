"""Python-side benchmarks of the phisafe bindings (BENCHMARKS.md, issue 6).

Run after building the extension (scripts/test.sh does, into
target/py-venv); build it in release mode for numbers worth recording:

    VIRTUAL_ENV=$PWD/target/py-venv target/py-venv/bin/maturin develop --release -m python/Cargo.toml
    target/py-venv/bin/python python/bench/bench.py
"""

import os
import random
import subprocess
import sys
import tempfile
import time

import phisafe


def log_lines(n, seed=7):
    rng = random.Random(seed)
    words = "request served user session cache miss retry upstream latency ok".split()
    out = []
    for i in range(n):
        line = f"2026-11-22T10:{i % 60:02d}:{i % 59:02d}Z INFO " + " ".join(rng.choice(words) for _ in range(18))
        if i % 8 == 0:
            line += rng.choice(
                [" patient mail jo@clinic.example", " ssn 219-09-9999", " phone 415-555-2671", " from 10.1.2.3"]
            )
        out.append(line[:200].ljust(200))
    return out


def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    s = phisafe.Scanner()
    lines = log_lines(20000)  # 4 MB
    nbytes = sum(len(x) for x in lines)
    core = best(lambda: s._core_scan_count(lines))
    py = best(lambda: s.scan_many(lines))
    print(f"scan_many over {nbytes / 1e6:.1f} MB: {nbytes / py / 1e6:.1f} MB/s; "
          f"Rust core on the same list {nbytes / core / 1e6:.1f} MB/s; ratio {core / py:.2f} (target >= 0.70)")

    msgs = lines[:2000]
    t = best(lambda: [s.scan(m) for m in msgs])
    print(f"scan() on 200-byte messages: {len(msgs) / t:,.0f} calls/s (target >= 100,000)")

    with tempfile.TemporaryDirectory() as d:
        cli = os.environ.get("PHISAFE_BIN", "target/release/phisafe")
        subprocess.run([cli, "keys", "init", "--key-file", f"{d}/kek"], check=True, capture_output=True)
        c = phisafe.FieldCipher(f"file:{d}/kek", f"{d}/keyring.json", f"{d}/audit.jsonl", allow_all=True)
        who = dict(scope="patients.ssn", row="42", actor="bench", purpose="treatment")
        value = "0123456789-ABCDEFGHIJ 0123456789"[:32]
        env = c.encrypt_phi(value, **who)
        n = 20000
        te = best(lambda: [c.encrypt_phi(value, **who) for _ in range(n)], 3)
        td = best(lambda: [c.decrypt_phi(env, **who) for _ in range(n)], 3)
        print(f"encrypt_phi 32 B, JSONL audit: {n / te:,.0f} calls/s; decrypt_phi: {n / td:,.0f} calls/s")
        c.flush_audit()
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
