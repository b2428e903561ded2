"""Faults on demand for the embedded DynamoDB server, as DynamoDB shows them to a client.

`LOCAL_DDB_FAULTS` names the share of data-plane requests that meet each fault, e.g.
``throttle=0.05,internal=0.01,lost_reply=0.01,latency=0-40``:

- ``throttle``: refused, nothing applied, with `ThrottlingException` or
  `ProvisionedThroughputExceededException` (HTTP 400, which SDKs retry);
- ``internal``: refused, nothing applied, with `InternalServerError` (HTTP 500);
- ``lost_reply``: applied, then the connection is closed without an answer, as when a
  reply is lost on the way: the client cannot tell whether the write happened;
- ``latency=A-B``: every request waits a uniform A..B milliseconds before it is served.

Draws come from one random generator seeded by `LOCAL_DDB_SEED`, so a run can be repeated.
Control-plane requests (CreateTable, DescribeTable, ...) never meet a fault.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

DATA_PLANE = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)
_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_SHARES = ("throttle", "internal", "lost_reply")


@dataclass(frozen=True)
class FaultSpec:
    throttle: float = 0.0
    internal: float = 0.0
    lost_reply: float = 0.0
    latency_ms: tuple[int, int] = (0, 0)

    @property
    def any(self) -> bool:
        return bool(self.throttle or self.internal or self.lost_reply or self.latency_ms[1])

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """``throttle=0.05,internal=0.01,lost_reply=0.01,latency=0-40``; empty: no faults."""
        values: dict[str, float] = {}
        latency = (0, 0)
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep:
                raise ValueError(f"LOCAL_DDB_FAULTS: {part!r} is not name=value")
            if name == "latency":
                low, _, high = value.partition("-")
                try:
                    latency = (int(low), int(high or low))
                except ValueError:
                    raise ValueError(
                        f"LOCAL_DDB_FAULTS: latency={value!r} is not milliseconds A-B"
                    ) from None
                if not 0 <= latency[0] <= latency[1]:
                    raise ValueError(f"LOCAL_DDB_FAULTS: latency={value!r} needs 0 <= A <= B")
                continue
            if name not in _SHARES:
                raise ValueError(
                    f"LOCAL_DDB_FAULTS: unknown fault {name!r} (known: {', '.join(_SHARES)}, "
                    "latency)"
                )
            try:
                share = float(value)
            except ValueError:
                raise ValueError(f"LOCAL_DDB_FAULTS: {name}={value!r} is not a number") from None
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"LOCAL_DDB_FAULTS: {name}={value!r} is not a share in 0..1")
            values[name] = share
        if sum(values.values()) > 1.0:
            raise ValueError("LOCAL_DDB_FAULTS: the shares add up to more than 1")
        return cls(latency_ms=latency, **values)


class Faults:
    """Seeded draws of a FaultSpec, and the counts of what was injected."""

    def __init__(self, spec: FaultSpec, seed: int | None) -> None:
        self.spec = spec
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def draw(self) -> tuple[str | None, float]:
        """(the fault for one request or None, the seconds it waits first)."""
        spec = self.spec
        with self._lock:
            roll = self._random.random()
            low, high = spec.latency_ms
            delay = self._random.uniform(low, high) / 1000 if high else 0.0
            fault = None
            edge = 0.0
            for name in _SHARES:
                edge += getattr(spec, name)
                if roll < edge:
                    fault = name
                    if name == "throttle" and self._random.random() < 0.5:
                        fault = "throttle_provisioned"
                    break
            if fault is not None:
                self.injected[fault] += 1
        return fault, delay


def _error_reply(
    start_response: StartResponse, status: str, kind: str, message: str
) -> Iterable[bytes]:
    body = json.dumps({"__type": _PREFIX + kind, "message": message}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", f"local-fault-{time.monotonic_ns()}"),
        ],
    )
    return [body]


class FaultInjection:
    """WSGI middleware: each data-plane request draws its fault before it is served."""

    def __init__(self, app: WSGIApplication, faults: Faults) -> None:
        self._app = app
        self.faults = faults

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        action = str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2]
        if action not in DATA_PLANE:
            return self._app(environ, start_response)
        fault, delay = self.faults.draw()
        if delay:
            time.sleep(delay)
        if fault == "throttle":
            return _error_reply(
                start_response,
                "400 Bad Request",
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            )
        if fault == "throttle_provisioned":
            return _error_reply(
                start_response,
                "400 Bad Request",
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. "
                "Consider increasing your provisioning level with the UpdateTable API.",
            )
        if fault == "internal":
            return _error_reply(
                start_response, "500 Internal Server Error", "InternalServerError", "Internal error"
            )
        reply = self._app(environ, start_response)
        if fault == "lost_reply":
            # Applied; the client gets no answer at all, only a closed connection.
            connection = environ.get("werkzeug.socket")
            if isinstance(connection, socket.socket):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        return reply
