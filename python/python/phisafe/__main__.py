"""The ``phisafe`` command line, for ``python -m phisafe`` and the ``phisafe``
console script that ``pip install phisafe`` puts on the PATH.

It is the same program as the Rust binary (``phisafe scan``, ``redact``,
``keys``, ``encrypt``, ``decrypt``, ``audit``, ``db``), compiled into the
extension module, so batch jobs need no separate download.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Optional, Sequence

from phisafe._native import cli_main


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line on ``argv`` (default ``sys.argv[1:]``) and
    returns the exit code. Meant to be the process's main program: it gives
    Ctrl-C back its default meaning, as the native binary has."""
    args = list(sys.argv[1:] if argv is None else argv)
    if threading.current_thread() is threading.main_thread():
        # Python's handler would only run once the native call returned.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    # The native code writes to the file descriptors directly.
    sys.stdout.flush()
    sys.stderr.flush()
    return cli_main(["phisafe", *args])


if __name__ == "__main__":
    sys.exit(main())
