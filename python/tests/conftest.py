"""Shared test helpers."""

import json
import logging
import os
import select
import signal

import pytest


def _run_in_child(fn, timeout=30.0):
    """Runs `fn` in a forked child and returns what it returns (JSON); a
    child that hangs is killed and fails the test."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.write(w, json.dumps(fn()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    data = b""
    try:
        while True:
            ready, _, _ = select.select([r], [], [], timeout)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child failed"
    return json.loads(data)


@pytest.fixture()
def in_child():
    """`in_child(fn)` runs `fn` in a forked child and returns its JSON
    result; skips where there is no fork."""
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    return _run_in_child


@pytest.fixture(autouse=True)
def restore_logging():
    """phisafe.logging.install() wraps the process's log record factory and
    filters Python's last-resort handler; each test starts without that."""
    factory = logging.getLogRecordFactory()
    filters = list(logging.lastResort.filters) if logging.lastResort else []
    yield
    logging.setLogRecordFactory(factory)
    if logging.lastResort:
        logging.lastResort.filters[:] = filters
