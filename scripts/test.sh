#!/usr/bin/env bash
# Runs every check and test of the project. This is the command the README
# gives and the one CI runs (.ci/run); keep them the same.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# SoftHSM2 gives the PKCS#11 tests a real token (the `pkcs11` feature).
if [ ! -e /usr/lib/softhsm/libsofthsm2.so ]; then
    echo "== installing softhsm2"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >/dev/null
    else
        echo "SoftHSM2 is missing: run 'sudo apt-get install softhsm2'" >&2
        exit 1
    fi
fi

echo "== format"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features 2>&1 | { ! grep -E "^(warning|error)" ; }

echo "== tests"
# One throwaway PostgreSQL cluster for every test binary that needs one
# (phisafe-sqlx, the CLI's db commands); it stops when this script exits.
PHISAFE_TEST_PG_URL="$(scripts/pg_test_cluster.sh $$)"
export PHISAFE_TEST_PG_URL
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-features 2>&1 | tee "$log"

echo "== benches compile"
cargo bench -p phisafe-benches --no-run --quiet

echo "== package"
# The phisafe crate as crates.io would get it: everything it embeds
# (the pattern pack, the name lists) must be inside the package.
cargo package -p phisafe --allow-dirty --quiet

echo "== fuzz smoke"
# Every cargo-fuzz target for 20 s (nightly; skipped without it).
scripts/fuzz.sh 20

echo "== python"
# The wheel users get (release, stripped, manylinux2014), built by the
# script that builds the published ones, is what the Python suite tests.
scripts/wheels.sh --gnu-only target/wheels
# A venv of our own under target/, with pytest and the frameworks the
# integrations are tested through from PyPI. pyspark (with pyarrow and
# pandas) runs phisafe.spark's tests in local mode on the machine's Java 17,
# and on a standalone cluster whose executors get the wheel from a packed
# virtualenv (venv-pack), so that test is told where the wheel is.
venv="$PWD/target/py-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
wheel="$(ls target/wheels/phisafe-*manylinux2014*.whl)"
"$venv/bin/pip" install -q --disable-pip-version-check pytest hypothesis mypy httpx uvicorn \
    "$wheel[fastapi,structlog]" "pyspark>=4.0,<5" pyarrow pandas venv-pack
export PHISAFE_WHEEL="$PWD/$wheel"
"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
# The hand-written stubs must match the installed module (checked from
# outside the source tree, so that the wheel is what is imported), and the
# package and a file of typical usage (python/typecheck/) type-check.
(cd target && "$venv/bin/python" -m mypy.stubtest phisafe._native)
(cd python/python && "$venv/bin/python" -m mypy --strict phisafe ../typecheck/typed_usage.py)
pylog="$(mktemp)"
trap 'rm -f "$log" "$pylog"' EXIT
"$venv/bin/python" -m pytest -q --doctest-modules --pyargs phisafe python/tests \
    2>&1 | tee "$pylog"

# One closing line over every test binary, doc-test run and pytest run.
{
    cat "$log"
    # pytest's closing "N failed, M passed in Xs", as a cargo-style line.
    passed="$(tail -1 "$pylog" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
    failed="$(tail -1 "$pylog" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)"
    echo "test result: python. $passed passed; $failed failed;"
} | awk '/^test result:/ { p += $4; f += $6 } END { printf "summary: %d passed, %d failed\n", p, f }'
