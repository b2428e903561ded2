"""Tokens the local server accepts: HS256 JWTs signed with `$LOCAL_JWT_SECRET`.

python -m local.token alice        # prints one token with sub=alice, valid for 12 hours
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import jwt

from local.jwt_auth import ALGORITHM, secret_from_env, short_keys_allowed

LIFETIME_SECONDS = 12 * 60 * 60


def make_token(sub: str, secret: str | None = None, **claims: Any) -> str:
    """A signed token for `sub`, issued now, expiring in 12 hours; `claims` add or override."""
    now = int(time.time())
    payload: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + LIFETIME_SECONDS}
    payload.update(claims)
    with short_keys_allowed():
        return jwt.encode(payload, secret if secret is not None else secret_from_env(), ALGORITHM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.token",
        description="Print a token for the local server (HS256, $LOCAL_JWT_SECRET).",
    )
    parser.add_argument("sub", help="the caller: the token's sub claim")
    args = parser.parse_args(argv)
    if not args.sub:
        parser.error("sub must not be empty")
    print(make_token(args.sub))
    return 0


if __name__ == "__main__":
    sys.exit(main())
