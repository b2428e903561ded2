"""The local stand-in for the API Gateway HTTP API: routes, JWT authorizer, payload 2.0.

Each HTTP request is matched against the template's routes, checked by the local JWT
authorizer where the route needs one, turned into an HTTP API payload format 2.0 event and
handed to the function's emulator pool; the function's result becomes the HTTP response by
payload 2.0's rules. What the gateway answers itself carries API Gateway's bodies:
`404 {"message": "Not Found"}`, `401 {"message": "Unauthorized"}`, and
`500 {"message": "Internal Server Error"}` when the function fails.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local import jwt_auth
from local.runtime import ACCOUNT_ID, EmulatorError, InvokeResult
from local.template import Route

LOG = logging.getLogger("local.gateway")

API_ID = "local"
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
# API Gateway HTTP API passes these bodies as text; every other type (a missing one, form
# data and application/*+json included) arrives base64-encoded with isBase64Encoded=true.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
# Hop-by-hop and framing headers the gateway sets itself.
DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "date"}
)
Invoke = Callable[[str, dict[str, Any]], InvokeResult]


def is_text_media(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in TEXT_MEDIA_TYPES


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


def _decoded_path(raw_path: str) -> str:
    """The path as HTTP API reports it: percent-escapes decoded, except %25 (the percent)."""
    return "%25".join(urllib.parse.unquote(part) for part in raw_path.split("%25"))


@dataclass
class IncomingRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    host: str = "127.0.0.1"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name]
        return ",".join(values) if values else None


def build_event(
    request: IncomingRequest,
    route: Route,
    path_params: dict[str, str],
    authorization: jwt_auth.Authorization | None,
) -> dict[str, Any]:
    """The HTTP API payload format 2.0 event for one request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in request.headers:
        name = key.lower()
        if name == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    port = request.host.rsplit(":", 1)[1] if ":" in request.host else "80"
    headers.setdefault("x-forwarded-port", port)
    headers["x-amzn-trace-id"] = f"Root=1-{int(request.received):08x}-{secrets.token_hex(12)}"

    received = time.gmtime(request.received)
    path = _decoded_path(request.raw_path)
    http: dict[str, Any] = {
        "method": request.method,
        "path": path,
        "protocol": request.protocol,
        "sourceIp": request.source_ip,
        "userAgent": headers.get("user-agent", ""),
    }
    host = request.host.split(":", 1)[0]
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": http,
        "requestId": request.request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", received),
        "timeEpoch": int(request.received * 1000),
    }
    if authorization is not None:
        context["authorizer"] = authorization.as_authorizer()

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        query: dict[str, str] = {}
        for key, value in urllib.parse.parse_qsl(request.raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = context
    if path_params:
        event["pathParameters"] = path_params
    if request.body:
        text = _utf8(request.body) if is_text_media(headers.get("content-type")) else None
        if text is not None:
            event["body"] = text
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def _utf8(body: bytes) -> str | None:
    """A text body as text; bytes that are not UTF-8 go to the function base64-encoded, as
    binary data does, so the function sees them as they are."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_error(status: int, message: str, *extra: tuple[str, str]) -> GatewayResponse:
    body = json.dumps({"message": message}).encode()
    return GatewayResponse(status, [("Content-Type", "application/json"), *extra], body)


def map_result(result: InvokeResult) -> GatewayResponse:
    """The HTTP response for a function's result, by payload format 2.0's rules."""
    if result.failed:
        return gateway_error(500, "Internal Server Error")
    try:
        output = json.loads(result.payload)
    except ValueError:
        return gateway_error(500, "Internal Server Error")
    if not (isinstance(output, dict) and "statusCode" in output):
        # Any other JSON value: 200 with that value as a JSON body.
        return GatewayResponse(200, [("Content-Type", "application/json")], result.payload)
    try:
        status = int(output["statusCode"])
        if not 100 <= status <= 599:
            raise ValueError(status)
        headers: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for name, values in (output.get("multiValueHeaders") or {}).items():
            for value in values if isinstance(values, list) else [values]:
                headers.append((str(name), _header_text(value)))
                seen.add((str(name).lower(), _header_text(value)))
        for name, value in (output.get("headers") or {}).items():
            if (str(name).lower(), _header_text(value)) not in seen:
                headers.append((str(name), _header_text(value)))
        headers += [("Set-Cookie", str(cookie)) for cookie in output.get("cookies") or []]
        headers = [(k, v) for k, v in headers if k.lower() not in DROPPED_RESPONSE_HEADERS]
        body_value = output.get("body")
        if body_value is None:
            body = b""
        elif output.get("isBase64Encoded"):
            body = base64.b64decode(str(body_value), validate=True)
        else:
            body = (body_value if isinstance(body_value, str) else json.dumps(body_value)).encode()
    except (ValueError, TypeError, AttributeError, binascii.Error):
        # A malformed Lambda proxy response: API Gateway answers 500 itself.
        return gateway_error(500, "Internal Server Error")
    if body and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return GatewayResponse(status, headers, body)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _not_ready(function: str, event: dict[str, Any]) -> InvokeResult:
    raise EmulatorError("the local runtime is not running yet")


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
        invoke: Invoke | None = None,
    ) -> None:
        self.routes = list(routes)
        self.invoke: Invoke = invoke if invoke is not None else _not_ready
        self.jwt_secret = jwt_secret
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
        result: InvokeResult | None = None
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            response = gateway_error(400, "Bad Request")
        else:
            response, result = self._respond(raw_path, raw_query, body, request_id)
        self._send(response, request_id)
        elapsed = (time.perf_counter() - started) * 1000
        # Method, path, status, time, function, cold/warm: never a body or a token.
        if result is None:
            LOG.info("%s %s %d %.0f ms -", self.command, raw_path, response.status, elapsed)
            return
        state = result.describe()
        if result.failed:
            state += f" error={result.error_type}"
        LOG.info(
            "%s %s %d %.0f ms %s %s",
            self.command,
            raw_path,
            response.status,
            elapsed,
            result.function,
            state,
        )

    def _respond(
        self, raw_path: str, raw_query: str, body: bytes | None, request_id: str
    ) -> tuple[GatewayResponse, InvokeResult | None]:
        if body is None:
            return gateway_error(413, "Request Entity Too Large"), None
        found = match_route(self.server.routes, self.command, raw_path)
        if found is None:
            return gateway_error(404, "Not Found"), None
        route, params = found
        authorization = None
        if route.auth:
            try:
                authorization = jwt_auth.authorize(
                    self.headers.get("Authorization"), self.server.jwt_secret
                )
            except jwt_auth.Unauthorized as error:
                challenge = "Bearer"
                if error.reason != "missing token":
                    challenge += f' error="invalid_token" error_description="{error.reason}"'
                return gateway_error(401, "Unauthorized", ("WWW-Authenticate", challenge)), None
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
            return gateway_error(413, "Request Entity Too Large"), None
        try:
            result = self.server.invoke(route.function, event)
        except EmulatorError as error:
            LOG.error("%s: %s", route.function, error)
            return gateway_error(500, "Internal Server Error"), None
        return map_result(result), result

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
