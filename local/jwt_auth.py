"""The local stand-in for the HTTP API's JWT authorizer: HS256 tokens signed with a shared secret.

In AWS the authorizer checks the token against the identity provider's keys, its issuer and
audience. Locally there is no identity provider: tokens are signed with `$LOCAL_JWT_SECRET`
(default `local-dev-secret`); the signature, `sub` and `exp` (no leeway) are checked, `iss` and
`aud` are ignored. The claims reach the function as the authorizer passes them: every value a
string.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

# A development default, documented in api.md; never a real secret.
DEFAULT_SECRET = "local-dev-secret"  # noqa: S105
SECRET_ENV = "LOCAL_JWT_SECRET"  # noqa: S105
ALGORITHM = "HS256"


def secret_from_env() -> str:
    return os.environ.get(SECRET_ENV) or DEFAULT_SECRET


@contextmanager
def short_keys_allowed() -> Iterator[None]:
    """The documented local default is shorter than RFC 7518 asks; it guards nothing real."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        yield


class Unauthorized(Exception):
    """The request carries no valid token; `reason` is for the WWW-Authenticate header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Authorization:
    claims: dict[str, str]
    scopes: list[str] | None

    def as_authorizer(self) -> dict[str, Any]:
        """`requestContext.authorizer` of an HTTP API payload 2.0 event."""
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


def _claim_text(value: Any) -> str:
    """A claim as API Gateway renders it: Go's fmt of the decoded JSON value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{key}:{_claim_text(value[key])}" for key in sorted(value))
        return f"map[{inner}]"
    if value is None:
        return "<nil>"
    return json.dumps(value)


def token_from_header(value: str | None) -> str:
    """The token of an Authorization header, with or without the `Bearer` prefix."""
    if value is None or not value.strip():
        raise Unauthorized("missing token")
    parts = value.strip().split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    if len(parts) == 1 and parts[0].lower() != "bearer":
        return parts[0]
    raise Unauthorized("malformed Authorization header")


def authorize(header: str | None, secret: str | None = None) -> Authorization:
    """Validate the Authorization header's token; raise Unauthorized when it does not pass."""
    token = token_from_header(header)
    try:
        with short_keys_allowed():
            claims = jwt.decode(
                token,
                secret if secret is not None else secret_from_env(),
                algorithms=[ALGORITHM],
                leeway=0,
                options={"require": ["sub"], "verify_aud": False, "verify_iss": False},
            )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("the token has expired") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"invalid token: {error}") from error
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("invalid token: sub must be a non-empty string")
    scope = claims.get("scope", claims.get("scp"))
    scopes: list[str] | None = None
    if isinstance(scope, str):
        scopes = scope.split()
    elif isinstance(scope, list):
        scopes = [str(item) for item in scope]
    return Authorization({key: _claim_text(value) for key, value in claims.items()}, scopes)
