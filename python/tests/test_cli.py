"""The ``phisafe`` console script and ``python -m phisafe``: the Rust
command line compiled into the extension, run as users run it."""

import json
import os
import subprocess
import sys
import sysconfig
from importlib.metadata import entry_points
from pathlib import Path

import phisafe

NOTE = (
    "Pt Maria Lopez, SSN 219-09-9999, seen 03/14/2021.\n"
    "Call back at (312) 871-4187 or maria.lopez@gmail.com.\n"
)


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "phisafe", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scan_reports_what_the_library_finds(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text(NOTE)
    out = run("scan", str(path), "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    got = {
        (r["entity"], r["start"], r["end"])
        for r in map(json.loads, out.stdout.splitlines())
    }
    # The CLI reports byte offsets; the note is ASCII, so they are the
    # library's string indices.
    want = {(f.entity, f.start, f.end) for f in phisafe.scan(NOTE)}
    assert "SSN" in {e for e, _, _ in got}
    assert got == want
    # A report never carries the raw values.
    for raw in ["219-09-9999", "maria.lopez@gmail.com", "871-4187"]:
        assert raw not in out.stdout


def test_redact_reads_stdin_and_leaves_no_value():
    out = run("redact", "-", stdin=NOTE)
    assert out.returncode == 0, out.stderr
    for raw in ["Maria Lopez", "219-09-9999", "03/14/2021", "871-4187",
                "maria.lopez@gmail.com"]:
        assert raw not in out.stdout
    assert "[SSN]" in out.stdout


def test_usage_errors_exit_2_with_a_message_and_no_traceback():
    out = run("scan", "--no-such-flag")
    assert out.returncode == 2
    assert "--no-such-flag" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("scan", "/no/such/file.txt")
    assert out.returncode == 2
    assert "/no/such/file.txt" in out.stderr


def test_help_and_version_exit_0():
    out = run("--help")
    assert out.returncode == 0
    assert "redact" in out.stdout
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.split() == ["phisafe", phisafe.__version__]


def test_fail_on_gives_exit_1(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text(NOTE)
    out = run("scan", str(path), "--fail-on=0.5", "--no-progress")
    assert out.returncode == 1, out.stderr


def test_the_installed_console_script_runs():
    scripts = [e for e in entry_points(group="console_scripts")
               if e.name == "phisafe"]
    assert [e.value for e in scripts] == ["phisafe.__main__:main"]
    exe = Path(sysconfig.get_path("scripts")) / "phisafe"
    assert exe.exists(), f"pip did not install {exe}"
    out = subprocess.run(
        [str(exe), "redact", "-"],
        input="SSN 219-09-9999\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": str(exe.parent)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "SSN [SSN]\n"
