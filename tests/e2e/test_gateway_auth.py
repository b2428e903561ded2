"""The local gateway's 401s over HTTP, as an HTTP API's JWT authorizer answers them: API
Gateway's body, `{"message": "Unauthorized"}`, and a `WWW-Authenticate` header that says why,
laid out as AWS lays it out (`Bearer scope="" error="invalid_token" error_description="..."`;
the bare `Bearer` when no token came). No function runs: the gateway's invoke is a stub."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from jwt.utils import base64url_encode

from local import jwt_auth
from local.emulator import InvokeResult
from local.gateway import Gateway
from local.template import Route
from local.token import make_token

SECRET = "gateway-auth-secret"
ISSUER = "https://issuer.example"
AUDIENCE = "chat-web"
ROUTE = Route("GET", "/probe", "ProbeFunction", True, re.compile(r"^/probe$"), ())
# RFC 6750 section 3: `Bearer`, then attributes of quoted printable ASCII without `"` or `\`.
CHALLENGE = re.compile(r'^Bearer(?: [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*$')


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def challenge(self) -> str | None:
        return self.headers.get("WWW-Authenticate")

    def attributes(self) -> dict[str, str]:
        """The challenge's attributes: `Bearer a="1" b="2"` -> {"a": "1", "b": "2"}."""
        assert self.challenge is not None and CHALLENGE.match(self.challenge), self.challenge
        return dict(re.findall(r'([a-z_]+)="([^"]*)"', self.challenge))


class Served:
    """A gateway on a free port of 127.0.0.1 whose route's function answers 200."""

    def __init__(self, gateway: Gateway, invoked: list[dict[str, Any]]) -> None:
        self.gateway = gateway
        self.invoked = invoked

    def get(self, authorization: str | None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.gateway.server_port, timeout=10)
        headers = {} if authorization is None else {"Authorization": authorization}
        try:
            connection.request("GET", "/probe", headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def bearer(self, token: str) -> Answer:
        return self.get(f"Bearer {token}")


@pytest.fixture
def serve() -> Iterator[Any]:
    """serve(issuer=None, audience=()) -> a running gateway, stopped after the test."""
    stops: list[Any] = []

    def make(issuer: str | None = None, audience: tuple[str, ...] = ()) -> Served:
        invoked: list[dict[str, Any]] = []

        def invoke(function: str, event: dict[str, Any]) -> InvokeResult:
            invoked.append(event)
            payload = json.dumps({"statusCode": 200, "body": "{}"}).encode()
            return InvokeResult(function, f"{function}#1", 200, payload, None, False, None, 1, 1)

        gateway = Gateway(
            ("127.0.0.1", 0),
            [ROUTE],
            jwt_secret=SECRET,
            jwt_issuer=issuer,
            jwt_audience=audience,
            invoke=invoke,
        )
        thread = threading.Thread(target=gateway.serve_forever, daemon=True)
        thread.start()
        stops.extend([gateway.server_close, gateway.shutdown])
        return Served(gateway, invoked)

    yield make
    for stop in reversed(stops):
        stop()


def signed(secret: str = SECRET, algorithm: str = jwt_auth.ALGORITHM, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "alice", "iat": now, "exp": now + 60, **claims}
    with jwt_auth.short_keys_allowed():
        return jwt.encode(payload, "" if algorithm == "none" else secret, algorithm)


def assert_refused(answer: Answer) -> None:
    assert answer.status == 401
    assert json.loads(answer.body) == {"message": "Unauthorized"}


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   "])
def test_no_token_is_the_bare_bearer_challenge(serve: Any, authorization: str | None) -> None:
    # Given a route behind the authorizer, when a request brings no token
    served = serve()
    answer = served.get(authorization)
    # Then API Gateway's 401, with the scheme alone, as AWS (and RFC 6750 3.1) answer it
    assert_refused(answer)
    assert answer.challenge == "Bearer"
    assert not served.invoked


def test_an_expired_token_says_so_as_aws_does(serve: Any) -> None:
    answer = serve().bearer(signed(exp=int(time.time()) - 1))
    assert_refused(answer)
    assert answer.challenge == (
        'Bearer scope="" error="invalid_token" error_description="the token has expired"'
    )


@pytest.mark.parametrize(
    ("token", "description"),
    [
        (lambda: signed(exp=int(time.time()) - 1), "the token has expired"),
        (lambda: signed(nbf=int(time.time()) + 600), "the token is not valid yet"),
        (lambda: signed(iat=int(time.time()) + 600), "the token is not valid yet"),
        (lambda: signed(secret="not-the-one"), "the token has an invalid signature"),
        (lambda: signed()[:-4] + "AAAA", "the token has an invalid signature"),
        (lambda: signed(algorithm="none"), "the token is not signed with HS256"),
        (lambda: "not-a-token", "token contains an invalid number of segments"),
        (lambda: "a.b.c.d", "token contains an invalid number of segments"),
    ],
    ids=[
        "expired",
        "nbf-ahead",
        "iat-ahead",
        "other-secret",
        "altered-signature",
        "unsigned",
        "not-a-jwt",
        "four-segments",
    ],
)
def test_a_bad_token_is_401_with_the_reason_in_plain_words(
    serve: Any, token: Any, description: str
) -> None:
    served = serve()
    answer = served.bearer(token())
    assert_refused(answer)
    assert answer.attributes() == {
        "scope": "",
        "error": "invalid_token",
        "error_description": description,
    }
    assert not served.invoked


def test_another_scheme_is_401_saying_it_is_not_a_bearer_token(serve: Any) -> None:
    answer = serve().get("Basic YWxpY2U6c2VjcmV0")
    assert_refused(answer)
    assert answer.attributes()["error_description"] == (
        "the Authorization header does not hold a Bearer token"
    )


@pytest.mark.parametrize(
    "claims", [{"iss": "https://another.example"}, {}], ids=["other-issuer", "no-issuer"]
)
def test_a_configured_issuer_is_checked(serve: Any, claims: dict[str, Any]) -> None:
    served = serve(issuer=ISSUER)
    answer = served.bearer(signed(aud=AUDIENCE, **claims))
    assert_refused(answer)
    assert answer.attributes()["error_description"] == "the token does not have a valid issuer"
    assert served.bearer(signed(iss=ISSUER)).status == 200


@pytest.mark.parametrize(
    "claims",
    [{"aud": "another-app"}, {}, {"aud": "another-app", "client_id": AUDIENCE}],
    ids=["other-audience", "no-audience", "client-id-beside-aud"],
)
def test_a_configured_audience_is_checked_in_aws_words(serve: Any, claims: dict[str, Any]) -> None:
    served = serve(audience=(AUDIENCE,))
    answer = served.bearer(signed(**claims))
    assert_refused(answer)
    # The very header AWS's troubleshooting guide shows.
    assert answer.challenge == (
        'Bearer scope="" error="invalid_token" '
        'error_description="the token does not have a valid audience"'
    )
    assert served.bearer(signed(client_id=AUDIENCE)).status == 200


def test_a_malformed_token_is_described_within_what_a_header_may_carry(serve: Any) -> None:
    # A header segment that is neither JSON nor ASCII: whatever PyJWT says of it, the
    # description keeps to the characters RFC 6750 allows.
    header = base64url_encode('{"alg": "HS256", "\u00e9\\"'.encode()).decode()
    answer = serve().bearer(f"{header}.e30.c2ln")
    assert_refused(answer)
    assert answer.attributes()["error_description"].startswith("the token is malformed: ")


def test_a_valid_token_passes_without_a_challenge(serve: Any) -> None:
    served = serve(issuer=ISSUER, audience=(AUDIENCE,))
    answer = served.bearer(make_token("alice", secret=SECRET, iss=ISSUER, aud=AUDIENCE))
    assert answer.status == 200
    assert answer.challenge is None
    claims = served.invoked[0]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "alice"
