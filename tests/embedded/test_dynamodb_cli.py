"""The embedded DynamoDB as a process: `python -m local.dynamodb` (its ready line, its exit on a
signal or a taken port) and `start_dynamodb`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading

import pytest

from local.dynamodb import ROOT, EmbeddedDynamoDB, start_dynamodb


def start_cli(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "local.dynamodb", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_prints_one_ready_line_and_exits_cleanly_on_signal(signum: int) -> None:
    # Given the server started on a free port
    process = start_cli("--host", "127.0.0.1", "--port", "0")
    assert process.stdout is not None
    watchdog = threading.Timer(30, process.kill)  # a server that never gets ready fails the test
    watchdog.start()
    try:
        ready = process.stdout.readline().decode()
    finally:
        watchdog.cancel()
    assert ready.startswith("listening on http://127.0.0.1:")
    assert int(ready.rsplit(":", 1)[1]) > 0

    # When it is sent the signal
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)

    # Then it exits 0 without a traceback, having printed nothing else
    assert process.returncode == 0
    assert b"Traceback" not in err
    assert out == b""


def test_cli_on_a_taken_port_says_so_in_one_line_and_exits_2() -> None:
    # Given a port something else listens on
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        # When the server is started on it
        process = start_cli("--port", str(port))
        out, err = process.communicate(timeout=30)

    # Then it exits 2 with one line on stderr naming the port
    assert process.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0]
    assert "in use" in lines[0]


def test_start_dynamodb_gives_a_url_a_port_and_a_process_it_stops_cleanly(
    dynamodb_server: EmbeddedDynamoDB,
) -> None:
    # Given a second server started from Python on a free port
    with start_dynamodb(port=0) as server:
        # Then it is a live subprocess on its own port, behind the URL it reports
        assert server.process.poll() is None
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port not in (0, dynamodb_server.port)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass

    # When the block ends, then the server has exited cleanly
    assert server.process.returncode == 0
    assert server.stop() == 0
