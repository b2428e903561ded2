"""An embedded DynamoDB for local runs, tests and benchmarks: moto's server, with two faults fixed.

moto 5.2's server runs requests on several threads with nothing locking the backend, and its
TransactWriteItems deep-copies every table it touches for rollback and restores that copy on
failure, which erases what other requests committed meanwhile and makes a transaction's cost
grow with the table. This module serves one request at a time and makes TransactWriteItems
snapshot and restore only the items it touches.

    python -m local.dynamodb --host 127.0.0.1 --port 8000   # port 0 picks a free port

prints ``listening on http://HOST:PORT`` once ready and serves until SIGINT/SIGTERM. From
Python, ``start_dynamodb()`` runs it as a subprocess and returns an ``EmbeddedDynamoDB``.
Clients use region us-east-1 and any credentials.
"""

from __future__ import annotations

import argparse
import copy
import errno
import importlib.metadata
import logging
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from moto.dynamodb.models import DynamoDBBackend

ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "listening on "
SUPPORTED_MOTO = SpecifierSet(">=5.2,<5.3")
EXIT_CANNOT_LISTEN = 2


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


def _check_moto_version() -> str:
    version = importlib.metadata.version("moto")
    if Version(version) not in SUPPORTED_MOTO:
        raise ImportError(
            f"local.dynamodb patches moto internals written against moto 5.2.5, but moto "
            f"{version} is installed (needs >=5.2,<5.3); re-check the patch before allowing it"
        )
    return version


# Checked at import, so a moto upgrade fails here rather than silently unpatched.
MOTO_VERSION = _check_moto_version()


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """Replaces moto.dynamodb.models.DynamoDBBackend.transact_write_items, as of moto 5.2.5.

    moto's code (moto/dynamodb/models/__init__.py) with the same checks, order, errors and
    cancellation reasons, except for rollback: the state kept is a copy of each touched item
    (and the stream length) instead of a deep copy of each whole touched table, so a failed
    transaction cannot erase other items and its cost does not grow with the table. Also rolls
    back when an action holds two operations, which moto left half-applied. Relies on requests
    running one at a time.
    """
    # Imported here so that importing this module (e.g. for start_dynamodb) does not load moto.
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    # (table, hash key, range key, hash bucket existed, item before) for each touched item.
    snapshots: list[tuple[Any, Any, Any, bool, Any]] = []
    stream_lengths: dict[int, tuple[Any, int]] = {}

    def rollback() -> None:
        for table, hash_key, range_key, bucket_existed, before in reversed(snapshots):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before
                continue
            if before is None:
                bucket = table.items.get(hash_key)
                if bucket is not None:
                    bucket.pop(range_key, None)
                    if not bucket and not bucket_existed:
                        del table.items[hash_key]
            else:
                table.items[hash_key][range_key] = before
        for shard, length in stream_lengths.values():
            # moto's whole-table restore also dropped the failed transaction's stream records.
            del shard.items[length:]

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            # moto raised here without rolling back the actions already applied.
            rollback()
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_old_on_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            # moto's self.get_item(table_name, key), unrolled to keep the key for the snapshot.
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, key)
            bucket_existed = hash_key in table.items
            current = table.get_item(hash_key, range_key)
            snapshots.append((table, hash_key, range_key, bucket_existed, copy.deepcopy(current)))
            if table.stream_shard is not None and id(table) not in stream_lengths:
                shard = table.stream_shard
                stream_lengths[id(table)] = (shard, len(shard.items))

            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_old_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:
            # moto reports any other failure as that action's cancellation reason.
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


# moto's own functions that install_patches replaced, by name, so tests can compare against them.
MOTO_ORIGINALS: dict[str, Callable[..., Any]] = {}


def install_patches() -> None:
    """Make moto's DynamoDB backend use the item-level TransactWriteItems (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    current = DynamoDBBackend.transact_write_items
    if current is not _transact_write_items:
        MOTO_ORIGINALS.setdefault("transact_write_items", current)
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


class _OneRequestAtATime:
    """WSGI middleware: moto's backends have no locking, so requests must not overlap."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            response = self._app(environ, start_response)
            try:
                # Consumed under the lock: a lazy body could still read the backend.
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()


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
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            sock = _listen(host, port)
        except OSError as e:
            reason = "address already in use" if e.errno == errno.EADDRINUSE else e.strerror or e
            print(f"local.dynamodb: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
            return EXIT_CANNOT_LISTEN

        install_patches()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # One line per request would flood the console and any pipe nobody reads.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
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
    host: str = "127.0.0.1", port: int = 0, *, timeout: float = 30.0
) -> EmbeddedDynamoDB:
    """Start `python -m local.dynamodb` as a subprocess and return once it accepts requests.

    A subprocess so that client threads in the caller never share a GIL with the server.
    Its stderr is the caller's. Use the result as a context manager, or call `.stop()`.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dynamodb", "--host", host, "--port", str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
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
