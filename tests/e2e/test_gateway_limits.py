"""The local gateway behaves as an HTTP API does: the integration timeout (503), 10 MB requests,
an event over Lambda's 6 MB (413), a failed invocation (500), each with API Gateway's body; its
JWT authorizer checks what AWS's does and lets a token without `sub` through."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from local import jwt_auth
from local.gateway import INTEGRATION_TIMEOUT_S, Gateway
from local.lambda_limits import Limits
from local.runtime import LocalRuntime
from local.runtime_env import ensure_runtime_env
from local.template import Route
from local.token import make_token
from tests.helpers.limits_function import NAME, limits_spec

pytestmark = pytest.mark.e2e

ROUTE = Route("POST", "/probe", NAME, True, re.compile(r"^/probe$"), ())
SECRET = "gateway-limits-secret"


class Served:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def post(self, event: Any, token: str | None = None, body: bytes | None = None) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.gateway.server_port, timeout=60)
        token = token if token is not None else make_token("alice", secret=SECRET)
        payload = body if body is not None else json.dumps(event).encode()
        connection.request(
            "POST",
            "/probe",
            body=payload,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        answer = response.status, response.read()
        connection.close()
        return answer


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """serve(integration_timeout=..., limits=..., **spec changes) -> a gateway on the test
    function, stopped after."""
    python = ensure_runtime_env()
    stops: list[Any] = []

    def make(
        integration_timeout: float | None = INTEGRATION_TIMEOUT_S,
        limits: Limits | None = None,
        **changes: Any,
    ) -> Served:
        runtime = LocalRuntime(
            {NAME: limits_spec(tmp_path, **changes)},
            python,
            dynamodb_url=None,
            concurrency=2,
            limits=limits,
        )
        gateway = Gateway(
            ("127.0.0.1", 0),
            [ROUTE],
            jwt_secret=SECRET,
            invoke=runtime.invoke,
            integration_timeout=integration_timeout,
        )
        thread = threading.Thread(target=gateway.serve_forever, daemon=True)
        thread.start()
        stops.extend([runtime.close, gateway.server_close, gateway.shutdown])
        return Served(gateway)

    yield make
    for stop in reversed(stops):
        stop()


def test_the_integration_timeout_is_30_s_by_default() -> None:
    assert INTEGRATION_TIMEOUT_S == 30.0


def test_a_function_slower_than_the_integration_timeout_is_503(serve: Any) -> None:
    served = serve(integration_timeout=1.0, timeout_s=10)
    status, body = served.post({"sleep": 4})
    assert status == 503
    assert json.loads(body) == {"message": "Service Unavailable"}
    # The gateway stopped waiting; the function's pool keeps serving.
    status, body = served.post({})
    assert status == 200, body


def test_without_the_integration_timeout_the_gateway_waits(serve: Any) -> None:
    status, body = serve(integration_timeout=None, timeout_s=10).post({"sleep": 2})
    assert status == 200, body


@pytest.mark.parametrize(
    ("event", "changes"),
    [
        ({"fail": True}, {}),
        ({"sleep": 5}, {"timeout_s": 1}),
        ({"alloc_mb": 300, "hold_s": 3}, {"memory_mb": 128}),
        ({"body": "x", "times": 6_300_000}, {}),
    ],
    ids=["error", "timeout", "memory", "response-size"],
)
def test_a_failed_invocation_is_500_with_api_gateways_body(
    serve: Any, event: dict[str, Any], changes: dict[str, Any]
) -> None:
    status, body = serve(**changes).post(event)
    assert status == 500
    assert json.loads(body) == {"message": "Internal Server Error"}


def test_an_event_over_6_mb_is_413_and_never_reaches_the_function(serve: Any) -> None:
    served = serve()
    status, body = served.post(None, body=b'"' + b"y" * (6 * 1024 * 1024) + b'"')
    assert status == 413
    assert json.loads(body) == {"message": "Request Entity Too Large"}


def test_a_request_over_10_mb_is_413_before_its_body_is_read(serve: Any) -> None:
    served = serve()
    connection = http.client.HTTPConnection("127.0.0.1", served.gateway.server_port, timeout=60)
    connection.putrequest("POST", "/probe")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()  # the gateway answers from the headers alone
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Entity Too Large"}
    connection.close()


# --- the JWT authorizer ---------------------------------------------------------------------


def token(**claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + 60, **claims}
    with jwt_auth.short_keys_allowed():
        return jwt.encode(payload, SECRET, jwt_auth.ALGORITHM)


def authorize(value: str, **settings: Any) -> jwt_auth.Authorization:
    return jwt_auth.authorize(f"Bearer {value}", SECRET, **settings)


def test_a_token_without_sub_reaches_the_function(serve: Any) -> None:
    assert "sub" not in authorize(token()).claims
    status, _ = serve().post({}, token=token())
    assert status == 200


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 1}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
    ],
)
def test_exp_and_nbf_are_checked(claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(jwt_auth.Unauthorized, match=reason):
        authorize(token(sub="alice", **claims))


def test_a_wrong_signature_is_refused() -> None:
    with jwt_auth.short_keys_allowed():
        other = jwt.encode({"sub": "alice"}, "another-secret", jwt_auth.ALGORITHM)
    with pytest.raises(jwt_auth.Unauthorized):
        authorize(other)


def test_iss_is_checked_only_where_set() -> None:
    issued = token(sub="alice", iss="https://issuer.example")
    assert authorize(issued).claims["iss"] == "https://issuer.example"
    assert authorize(issued, issuer="https://issuer.example").claims["sub"] == "alice"
    with pytest.raises(jwt_auth.Unauthorized, match="issuer"):
        authorize(issued, issuer="https://another.example")
    with pytest.raises(jwt_auth.Unauthorized):
        authorize(token(sub="alice"), issuer="https://issuer.example")


def test_aud_or_client_id_is_checked_only_where_set() -> None:
    assert authorize(token(sub="a", aud="web")).claims["aud"] == "web"
    assert authorize(token(sub="a", aud=["x", "web"]), audience=("web",))
    assert authorize(token(sub="a", client_id="web"), audience=("web", "cli"))
    for claims in ({"aud": "other"}, {}, {"aud": "other", "client_id": "web"}):
        with pytest.raises(jwt_auth.Unauthorized, match="audience"):
            authorize(token(sub="a", **claims), audience=("web",))


def test_issuer_and_audience_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_JWT_ISSUER", "https://issuer.example")
    monkeypatch.setenv("LOCAL_JWT_AUDIENCE", "web, cli")
    assert jwt_auth.issuer_from_env() == "https://issuer.example"
    assert jwt_auth.audience_from_env() == ("web", "cli")
    monkeypatch.delenv("LOCAL_JWT_ISSUER")
    monkeypatch.delenv("LOCAL_JWT_AUDIENCE")
    assert jwt_auth.issuer_from_env() is None
    assert jwt_auth.audience_from_env() == ()
