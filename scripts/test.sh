#!/usr/bin/env bash
# Runs every check and test of the project. This is the command the README
# gives and the one CI runs (.ci/run); keep them the same.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== format"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet

echo "== tests"
cargo test --workspace --all-features

echo "== benches compile and run once"
cargo bench -p phisafe-benches --no-run --quiet
