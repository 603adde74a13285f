"""Regenerate core/patterns/names/{first,last}.txt from the 1990 Census lists.

Usage: pip download --no-deps names==0.3.0 -d /tmp/n && tar xzf ... and
       python3 scripts/names.py /path/to/names-0.3.0/names
"""
import pathlib
import sys

LAST_KEPT = 30000


def load(path):
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts:
            rows.append((parts[0].capitalize(), int(parts[3])))
    return rows


def main(src):
    src = pathlib.Path(src)
    out = pathlib.Path(__file__).resolve().parent.parent / "core" / "patterns" / "names"
    first = {n for n, _ in load(src / "dist.male.first") + load(src / "dist.female.first")}
    last = {n for n, rank in load(src / "dist.all.last") if rank <= LAST_KEPT}
    (out / "first.txt").write_text("\n".join(sorted(first)) + "\n")
    (out / "last.txt").write_text("\n".join(sorted(last)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
