"""The local stand-in for the HTTP API's JWT authorizer: HS256 tokens signed with a shared secret.

In AWS the authorizer checks the token's signature against the identity provider's keys, then
its claims: `iss` must be the configured issuer, `aud` (or `client_id` when there is no `aud`)
one of the configured audiences, `exp` after now, `nbf` and `iat` before now. It does not look
at `sub`: a token without one reaches the function, which decides. Locally there is no identity
provider: tokens are signed with `$LOCAL_JWT_SECRET` (default `local-dev-secret`); the issuer and
audience are checked only where `$LOCAL_JWT_ISSUER` / `$LOCAL_JWT_AUDIENCE` (comma-separated) are
set. The claims reach the function as the authorizer passes them: every value a string.

A refused request gets what the HTTP API answers: `401 {"message": "Unauthorized"}` with a
`WWW-Authenticate` header laid out as AWS lays it out (`Unauthorized.challenge`). AWS documents
`Bearer scope="" error="invalid_token" error_description="the token does not have a valid
audience"` and answers a request with no token with the bare scheme, `Bearer`, as RFC 6750
section 3.1 asks; every other reason here is said in the same plain words.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

# A development default, documented in api.md; never a real secret.
DEFAULT_SECRET = "local-dev-secret"  # noqa: S105
SECRET_ENV = "LOCAL_JWT_SECRET"  # noqa: S105
ISSUER_ENV = "LOCAL_JWT_ISSUER"
AUDIENCE_ENV = "LOCAL_JWT_AUDIENCE"
ALGORITHM = "HS256"
NO_TOKEN = "no token"  # noqa: S105 - the log's words for a request without one
# What RFC 6750 lets an error_description hold: printable ASCII but `"` and `\`.
_NOT_IN_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def secret_from_env() -> str:
    return os.environ.get(SECRET_ENV) or DEFAULT_SECRET


def issuer_from_env() -> str | None:
    return os.environ.get(ISSUER_ENV) or None


def audience_from_env() -> tuple[str, ...]:
    value = os.environ.get(AUDIENCE_ENV) or ""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@contextmanager
def short_keys_allowed() -> Iterator[None]:
    """The documented local default is shorter than RFC 7518 asks; it guards nothing real."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        yield


class Unauthorized(Exception):
    """The request carries no valid token; `reason` says why in plain words, None when it
    carries no token at all."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or NO_TOKEN)
        self.reason = reason

    @property
    def challenge(self) -> str:
        """The `WWW-Authenticate` header of the 401, as the HTTP API's JWT authorizer writes it."""
        if self.reason is None:
            return "Bearer"
        return f'Bearer scope="" error="invalid_token" error_description="{self.reason}"'


def _described(prefix: str, error: Exception, limit: int = 200) -> str:
    """`prefix: what PyJWT said`, cut short and reduced to what a header value may carry."""
    detail = _NOT_IN_DESCRIPTION.sub("?", str(error)).strip()
    return f"{prefix}: {detail[:1].lower()}{detail[1:]}"[:limit]


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


def _audience_matches(claims: Mapping[str, Any], audience: Sequence[str]) -> bool:
    """`aud` (a string or a list) names one of them; `client_id` counts only without `aud`."""
    found = claims["aud"] if "aud" in claims else claims.get("client_id")
    values = found if isinstance(found, list) else [found]
    return any(isinstance(value, str) and value in audience for value in values)


def token_from_header(value: str | None) -> str:
    """The token of an Authorization header, with or without the `Bearer` prefix."""
    parts = (value or "").strip().split(None, 1)
    if not parts or (len(parts) == 1 and parts[0].lower() == "bearer"):
        raise Unauthorized(None)
    if len(parts) == 1:
        return parts[0]
    if parts[0].lower() != "bearer":
        raise Unauthorized("the Authorization header does not hold a Bearer token")
    return parts[1].strip()


def _checked_claims(
    token: str, secret: str, issuer: str | None, audience: Sequence[str]
) -> dict[str, Any]:
    """The token's claims once its signature, times, issuer and audience pass."""
    if token.count(".") != 2:
        raise Unauthorized("token contains an invalid number of segments")  # AWS's own words
    try:
        with short_keys_allowed():
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                leeway=0,
                issuer=issuer,
                options={"verify_aud": False, "verify_iss": issuer is not None},
            )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("the token has expired") from error
    except jwt.ImmatureSignatureError as error:  # `nbf` or `iat` after now
        raise Unauthorized("the token is not valid yet") from error
    except jwt.InvalidSignatureError as error:
        raise Unauthorized("the token has an invalid signature") from error
    except jwt.InvalidAlgorithmError as error:
        raise Unauthorized(f"the token is not signed with {ALGORITHM}") from error
    except (jwt.InvalidIssuerError, jwt.MissingRequiredClaimError) as error:
        # The only claim required here is `iss`, and only where an issuer is configured.
        raise Unauthorized("the token does not have a valid issuer") from error
    except jwt.DecodeError as error:
        raise Unauthorized(_described("the token is malformed", error)) from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized(_described("the token is not valid", error)) from error
    if audience and not _audience_matches(claims, audience):
        raise Unauthorized("the token does not have a valid audience")  # AWS's own words
    return claims


def authorize(
    header: str | None,
    secret: str | None = None,
    *,
    issuer: str | None = None,
    audience: Sequence[str] = (),
) -> Authorization:
    """Validate the Authorization header's token; raise Unauthorized when it does not pass."""
    token = token_from_header(header)
    claims = _checked_claims(
        token, secret if secret is not None else secret_from_env(), issuer, audience
    )
    scope = claims.get("scope", claims.get("scp"))
    scopes: list[str] | None = None
    if isinstance(scope, str):
        scopes = scope.split()
    elif isinstance(scope, list):
        scopes = [str(item) for item in scope]
    return Authorization({key: _claim_text(value) for key, value in claims.items()}, scopes)
