"""HTTP API payload format 2.0: the event a request becomes, and the response a result becomes.

What the gateway answers itself carries API Gateway's body, `{"message": "..."}`: a failed
invocation or a malformed proxy response is `500 {"message": "Internal Server Error"}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

from local import jwt_auth
from local.emulator import InvokeResult
from local.lambda_limits import REQUEST_TOO_LARGE
from local.template import ACCOUNT_ID, Route

API_ID = "local"
# API Gateway HTTP API passes these bodies as text; every other type (a missing one, form
# data and application/*+json included) arrives base64-encoded with isBase64Encoded=true.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
# Hop-by-hop and framing headers the gateway sets itself.
DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "date"}
)


def is_text_media(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in TEXT_MEDIA_TYPES


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
    if result.error_type == REQUEST_TOO_LARGE:
        # Lambda refused the event: the HTTP API answers as for an over-large request.
        return gateway_error(413, "Request Entity Too Large")
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
