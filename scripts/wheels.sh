#!/usr/bin/env bash
# Builds the wheels users `pip install`: one abi3 wheel (CPython 3.10 and
# later) per platform, release, stripped, with tags PyPI accepts:
# manylinux2014 (glibc 2.17 and later) linked through zig, and
# musllinux_1_2 (Alpine) when the Rust musl target is installed or can be.
#
#   scripts/wheels.sh [--gnu-only] [OUT_DIR]     (default target/wheels)
#
# maturin and zig come from PyPI into a venv of their own under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

gnu_only=
if [ "${1:-}" = "--gnu-only" ]; then
    gnu_only=1
    shift
fi
out="${1:-target/wheels}"

venv="$PWD/target/wheel-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.9.4,<2" ziglang
# Wheels of an older build would be installed by mistake.
rm -f "$out"/phisafe-*.whl

build() {
    VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
        maturin build -q --release --zig -m python/Cargo.toml -o "$out" "$@"
}

build --compatibility manylinux2014
if [ -z "$gnu_only" ]; then
    musl=x86_64-unknown-linux-musl
    if rustup target list --installed | grep -qx "$musl" || rustup target add "$musl" >/dev/null 2>&1; then
        build --target "$musl" --compatibility musllinux_1_2
    else
        echo "wheels: no Rust target $musl (rustup target add $musl); musllinux wheel skipped" >&2
    fi
fi
ls -1 "$out"/phisafe-*.whl
