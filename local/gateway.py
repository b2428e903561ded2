"""The local stand-in for the API Gateway HTTP API: routes, JWT authorizer, integration.

Each HTTP request is matched against the template's routes, checked by the local JWT
authorizer (`local.jwt_auth`) where the route needs one, turned into an HTTP API payload
format 2.0 event and handed to the function's emulator pool; the function's result becomes the
HTTP response by payload 2.0's rules (`local.gateway_payload`). Like an HTTP API, the gateway
takes requests of up to 10 MB, never hands Lambda an event over its 6 MB, and waits at most 30 s
for the function (the integration timeout; `integration_timeout=None` waits as long as the
function runs, the lenient stack's way). What it answers itself carries API Gateway's bodies:
`404 {"message": "Not Found"}`, `401 {"message": "Unauthorized"}` (with a `WWW-Authenticate`
header that says why, as AWS's does: `local.jwt_auth`), `413 {"message": "Request Entity Too
Large"}`, `500 {"message": "Internal Server Error"}` when the function fails and `503
{"message": "Service Unavailable"}` when it does not answer in time. It logs one line per
request (`request_line`).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local import jwt_auth
from local.emulator import EmulatorError, InvokeResult
from local.gateway_payload import (
    GatewayResponse,
    IncomingRequest,
    build_event,
    gateway_error,
    is_text_media,
    map_result,
)
from local.template import Route

# What the tests import from here, wherever it now lives.
__all__ = [
    "Answer",
    "Gateway",
    "GatewayResponse",
    "IncomingRequest",
    "build_event",
    "gateway_error",
    "is_text_media",
    "map_result",
    "match_route",
    "request_line",
]

LOG = logging.getLogger("local.gateway")

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
INTEGRATION_TIMEOUT_S = 30.0  # HTTP API's, for every integration
Invoke = Callable[[str, dict[str, Any]], InvokeResult]


def match_route(
    routes: Sequence[Route], method: str, raw_path: str
) -> tuple[Route, dict[str, str]] | None:
    """The route for `method raw_path` and its decoded path parameters; static paths win."""
    for route in routes:
        if route.method != method:
            continue
        found = route.pattern.match(raw_path)
        if found:
            params = {
                name: urllib.parse.unquote(value) for name, value in found.groupdict().items()
            }
            return route, params
    return None


def _not_ready(function: str, event: dict[str, Any]) -> InvokeResult:
    raise EmulatorError("the local runtime is not running yet")


def invoke_within(
    invoke: Invoke, function: str, event: dict[str, Any], timeout: float | None
) -> InvokeResult | None:
    """The function's result, or None when it did not come within `timeout` seconds.

    As behind an HTTP API, the invocation runs on after the gateway stops waiting for it.
    """
    if timeout is None:
        return invoke(function, event)
    outcome: list[InvokeResult | EmulatorError] = []
    finished = threading.Event()

    def run() -> None:
        try:
            outcome.append(invoke(function, event))
        except EmulatorError as error:
            outcome.append(error)
        finally:
            finished.set()

    threading.Thread(target=run, name=f"invoke-{function}", daemon=True).start()
    if not finished.wait(timeout):
        return None
    if not outcome:
        raise EmulatorError(f"the invocation of {function} ended without a result")
    if isinstance(outcome[0], EmulatorError):
        raise outcome[0]
    return outcome[0]


@dataclass(frozen=True)
class Answer:
    """What the gateway answered: the function's result if one ran, or why it refused."""

    response: GatewayResponse
    result: InvokeResult | None = None
    note: str | None = None


def request_line(method: str, raw_path: str, answer: Answer, elapsed_ms: float) -> str:
    """The server's one line per request: method, path, status, time, then the function and
    whether it was cold, or `-` and why the gateway answered itself. Never a body or a token."""
    line = f"{method} {raw_path} {answer.response.status} {elapsed_ms:.0f} ms"
    result = answer.result
    if result is None:
        return f"{line} -" + (f" ({answer.note})" if answer.note else "")
    state = result.describe()
    if result.failed:
        state += f" error={result.error_type}"
    return f"{line} {result.function} {state}"


class Gateway(ThreadingHTTPServer):
    """The HTTP server: one thread per connection, requests handed to `invoke`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        routes: Sequence[Route],
        *,
        jwt_secret: str,
        jwt_issuer: str | None = None,
        jwt_audience: Sequence[str] = (),
        invoke: Invoke | None = None,
        integration_timeout: float | None = INTEGRATION_TIMEOUT_S,
    ) -> None:
        self.routes = list(routes)
        self.invoke: Invoke = invoke if invoke is not None else _not_ready
        self.jwt_secret = jwt_secret
        self.jwt_issuer = jwt_issuer
        self.jwt_audience = tuple(jwt_audience)
        self.integration_timeout = integration_timeout
        super().__init__(address, GatewayHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response is routine; anything else is worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        LOG.exception("error while handling a request from %s", client_address[0])


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "local-http-api"

    def log_message(self, format: str, *args: Any) -> None:
        # One line per request comes from _handle; http.server's own lines would repeat it.
        return

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over the gateway's limit."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_REQUEST_BYTES:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        started = time.perf_counter()
        raw_path, _, raw_query = self.path.partition("?")
        request_id = str(uuid.uuid4())
        answer = Answer(gateway_error(400, "Bad Request"))
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
        else:
            answer = self._respond(raw_path, raw_query, body, request_id)
        self._send(answer.response, request_id)
        elapsed = (time.perf_counter() - started) * 1000
        LOG.info("%s", request_line(self.command, raw_path, answer, elapsed))

    def _respond(
        self, raw_path: str, raw_query: str, body: bytes | None, request_id: str
    ) -> Answer:
        if body is None:
            return Answer(gateway_error(413, "Request Entity Too Large"))
        found = match_route(self.server.routes, self.command, raw_path)
        if found is None:
            return Answer(gateway_error(404, "Not Found"))
        route, params = found
        authorization = None
        if route.auth:
            try:
                authorization = jwt_auth.authorize(
                    self.headers.get("Authorization"),
                    self.server.jwt_secret,
                    issuer=self.server.jwt_issuer,
                    audience=self.server.jwt_audience,
                )
            except jwt_auth.Unauthorized as error:
                refused = gateway_error(401, "Unauthorized", ("WWW-Authenticate", error.challenge))
                return Answer(refused, note=str(error))
        request = IncomingRequest(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            host=self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}",
            request_id=request_id,
        )
        event = build_event(request, route, params, authorization)
        if len(json.dumps(event)) > MAX_EVENT_BYTES:
            return Answer(gateway_error(413, "Request Entity Too Large"))
        try:
            result = invoke_within(
                self.server.invoke, route.function, event, self.server.integration_timeout
            )
        except EmulatorError as error:
            LOG.error("%s: %s", route.function, error)
            return Answer(gateway_error(500, "Internal Server Error"))
        if result is None:
            LOG.error(
                "%s did not answer within the %g s integration timeout",
                route.function,
                self.server.integration_timeout,
            )
            return Answer(gateway_error(503, "Service Unavailable"))
        return Answer(map_result(result), result)

    def _send(self, response: GatewayResponse, request_id: str) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("apigw-requestid", request_id)
        no_body = response.status in (204, 304) or 100 <= response.status < 200
        body = b"" if no_body or self.command == "HEAD" else response.body
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, FOO): no route takes it, so API Gateway's 404.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)
