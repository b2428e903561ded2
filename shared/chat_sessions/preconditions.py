"""Workflow preconditions: the version ETag, If-Match, and a turn's expected_version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chat_sessions.contract import ENTITY_TAG_PATTERN, OWS
from chat_sessions.errors import BadRequest, ValidationFailed
from chat_sessions.models import TurnIn

# One entity-tag of If-Match: "<version>" or weak W/"<version>".
_TAG = re.compile(ENTITY_TAG_PATTERN)


def etag(version: int) -> str:
    return f'"{version}"'


@dataclass(frozen=True)
class Precondition:
    """If-Match: `*` (tags None: any current version, none included) or the version tags of
    which the current one must be one."""

    tags: frozenset[str] | None

    def __call__(self, current: int) -> bool:
        return self.tags is None or str(current) in self.tags

    def names_only(self, version: int) -> bool:
        return self.tags == frozenset({str(version)})


def if_match(header: str | None) -> Precondition | None:
    """The precondition of an If-Match header: `*`, or a comma-separated list of `"<version>"`
    or `W/"<version>"` tags (weak counts the same). Anything else is a 400."""
    if header is None:
        return None
    if header.strip(OWS) == "*":
        return Precondition(None)
    tags = set()
    for part in header.split(","):
        tag = part.strip(OWS)
        if not tag:
            continue  # empty list elements are allowed and ignored (RFC 9110 5.6.1)
        if not _TAG.fullmatch(tag):
            break
        tags.add(tag.removeprefix("W/").strip('"'))
    else:
        if tags:
            return Precondition(frozenset(tags))
    raise BadRequest(
        'If-Match must be "*" or a comma-separated list of quoted versions such as "3" or W/"3"'
    )


def turn_precondition(body: TurnIn, header: Precondition | None) -> Precondition | None:
    """A turn's precondition: If-Match and `expected_version` do the same; both given and
    different is a 422."""
    expected = body.expected_version
    if expected is None:
        return header
    if header is not None and not header.names_only(expected):
        message = "If-Match and expected_version name different versions"
        raise ValidationFailed(message, [{"field": "expected_version", "message": message}])
    return Precondition(frozenset({str(expected)}))
