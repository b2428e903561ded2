"""An embedded DynamoDB for local runs, tests and benchmarks: moto's server, as strict as AWS.

moto's server runs requests on several threads with nothing locking the backend: this
server applies one request at a time, with moto's TransactWriteItems fixed to roll back
item by item (ddb_transactions). By default it is as strict as DynamoDB (ddb_strict):
transactions hold their items until their reply and conflicting writes fail as DynamoDB's
do (ddb_conflicts), AWS's limits apply, capacity is counted by DynamoDB's rules, expired
items are deleted by TTL (ddb_ttl), and faults can be injected (ddb_faults).

    python -m local.dynamodb --host 127.0.0.1 --port 8000   # port 0 picks a free port

prints ``listening on http://HOST:PORT`` once ready and serves until SIGINT/SIGTERM. From
Python, ``start_dynamodb()`` runs it as a subprocess and returns an ``EmbeddedDynamoDB``.
Clients use region us-east-1 and any credentials.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "listening on "
EXIT_CANNOT_LISTEN = 2
EXIT_BAD_SETTING = 3


def local_client(url: str, config: Any = None) -> Any:
    """A boto3 DynamoDB client for a local endpoint: region us-east-1, any credentials."""
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - a local endpoint takes any
        config=config,
    )


class _OneRequestAtATime:
    """WSGI middleware: moto's backends have no locking, so requests must not overlap.

    `after_reply` runs once the request is applied and the lock released (a transaction's
    hold on its items lasts until then)."""

    def __init__(self, app: WSGIApplication, after_reply: Callable[[], None] | None = None) -> None:
        self._app = app
        self.lock = threading.Lock()
        self._after_reply = after_reply

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self.lock:
            response = self._app(environ, start_response)
            try:
                # Consumed under the lock: a lazy body could still read the backend.
                body = b"".join(response)
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
        if self._after_reply is not None:
            self._after_reply()
        return [body]


class _Stop(BaseException):
    """Raised by the signal handler; a BaseException so socketserver's handlers don't eat it."""


def _stop(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stop


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    """Serve moto's DynamoDB on host:port until SIGINT/SIGTERM; returns the exit code."""
    from local.ddb_faults import FaultInjection, Faults
    from local.ddb_strict import StrictSettings, install_strict
    from local.ddb_ttl import TtlSweeper

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            settings = StrictSettings.from_env()
        except ValueError as e:
            print(f"local.dynamodb: {e}", file=sys.stderr)
            return EXIT_BAD_SETTING
        try:
            sock = _listen(host, port)
        except OSError as e:
            reason = "address already in use" if e.errno == errno.EADDRINUSE else e.strerror or e
            print(f"local.dynamodb: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
            return EXIT_CANNOT_LISTEN

        conflicts = install_strict(settings, in_process=False)
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # One line per request would flood the console and any pipe nobody reads.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        serial = _OneRequestAtATime(
            DomainDispatcherApplication(create_backend_app),
            conflicts.finish_reply if conflicts is not None else None,
        )
        app: WSGIApplication = serial
        if settings.faults.any:
            app = FaultInjection(serial, Faults(settings.faults, settings.seed))
        with sock:
            # werkzeug would print two lines and exit 1 on a busy port, so it gets our socket.
            server = make_server(
                host,
                port,
                app,
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=sock.fileno(),
            )
        if settings.ttl_sweep_s > 0:
            TtlSweeper(settings.ttl_sweep_s, serial.lock, settings.seed).start()
        shown_host = f"[{host}]" if ":" in host else host
        print(f"{READY_PREFIX}http://{shown_host}:{server.port}", flush=True)
        # Anything moto print()s later must not fill a stdout pipe that nobody reads any more.
        sys.stdout = sys.stderr
        server.serve_forever()
    except _Stop:
        pass
    return 0


class EmbeddedDynamoDB:
    """A running `python -m local.dynamodb` subprocess."""

    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.process = process

    def stop(self, timeout: float = 10.0) -> int:
        """Terminate the server (kill it if it lingers) and return its exit code."""
        return _terminate(self.process, timeout)

    def __enter__(self) -> EmbeddedDynamoDB:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedDynamoDB(url={self.url!r}, pid={self.process.pid})"


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return process.returncode


def _wait_until_listening(process: subprocess.Popen[bytes], timeout: float) -> str:
    stdout = process.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"local.dynamodb did not start listening within {timeout} s")
            if not selector.select(remaining):
                continue
            raw = stdout.readline()
            if not raw:
                code = process.wait()
                raise RuntimeError(
                    f"local.dynamodb exited with code {code} before listening (see its stderr)"
                )
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith(READY_PREFIX):
                return line.removeprefix(READY_PREFIX)


def start_dynamodb(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> EmbeddedDynamoDB:
    """Start `python -m local.dynamodb` as a subprocess and return once it accepts requests.

    A subprocess so that client threads in the caller never share a GIL with the server.
    Its stderr is the caller's; `env` adds to (or overrides) the environment it inherits,
    e.g. {"LOCAL_STRICT": "0"} or {"LOCAL_DDB_FAULTS": "throttle=0.1"}. Use the result as a
    context manager, or call `.stop()`.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dynamodb", "--host", host, "--port", str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        url = _wait_until_listening(process, timeout)
    except BaseException:
        _terminate(process, 10.0)
        raise
    return EmbeddedDynamoDB(url, process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.dynamodb",
        description="An embedded DynamoDB (moto's server, patched) for local runs and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind; 0 picks a free one")
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
