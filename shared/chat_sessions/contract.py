"""The API's contract, declared once: every limit, request parameter and header pattern.

The parsing code (api_glue, cursor, preconditions, the routes), the request models (models)
and the OpenAPI document (openapi_paths) all read these; none writes a number or a pattern of
its own. A parameter is a small declarative spec: its name, bounds and description, and the
JSON schema it has in the document (`schema()`). Bodies are declared by the models, whose
limits come from here. Stdlib only: every function imports it at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# -- limits ----------------------------------------------------------------------------------
TITLE_MAX = 200
NOTE_MAX = 1000
TURN_MAX_MESSAGES = 10
# A version number as the path and the body take it: up to 10 digits.
VERSION_MAX = 9_999_999_999
VERSION_DIGITS = len(str(VERSION_MAX))
SEQ_MAX = 9_999_999_999  # a message's seq, in the body of a fork, rewind, summary or import
# A query integer: ASCII digits only, at most 12 of them.
QUERY_INT_MAX = 999_999_999_999
QUERY_INT_DIGITS = len(str(QUERY_INT_MAX))
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 20, 100
CURSOR_MAX_CHARS = 2048
IDEMPOTENCY_KEY_MAX = 128

# -- patterns (anchored: matched with fullmatch, `$` then takes no final newline) ------------
UUID_PATTERN = "^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
# api.md: 1..128 visible ASCII characters, `!` to `~`.
IDEMPOTENCY_KEY_PATTERN = f"^[!-~]{{1,{IDEMPOTENCY_KEY_MAX}}}$"
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"
QUERY_INT_PATTERN = f"^[0-9]{{1,{QUERY_INT_DIGITS}}}$"
# A version in the path: no leading zero, at most VERSION_DIGITS digits.
VERSION_PATH_PATTERN = f"^[1-9][0-9]{{0,{VERSION_DIGITS - 1}}}$"
# RFC 6901: "" (the whole document) or /-separated tokens, ~ only as ~0 or ~1; an inner
# pointer names something inside the document, not the whole of it.
JSON_POINTER_PATTERN = "^(/([^/~]|~[01])*)*$"
INNER_POINTER_PATTERN = "^(/([^/~]|~[01])*)+$"
# If-Match: `*`, or a comma-separated list of "<version>" / W/"<version>" (empty elements
# ignored), with HTTP's optional whitespace (RFC 9110 5.6.3: space and tab) around each.
OWS = " \t"
_OWS = "[ \\t]"
ENTITY_TAG_PATTERN = '^(?:W/)?"[0-9]{1,12}"$'
_TAG = ENTITY_TAG_PATTERN[1:-1]
IF_MATCH_PATTERN = f"^{_OWS}*(?:\\*|(?:,{_OWS}*)*{_TAG}(?:{_OWS}*,(?:{_OWS}*{_TAG})?)*){_OWS}*$"


# -- body media types ------------------------------------------------------------------------
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"  # RFC 7396
JSON_PATCH = "application/json-patch+json"  # RFC 6902


# -- parameters ------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntParam:
    """A query integer from `low` to `high` (None: as many as QUERY_INT_DIGITS digits hold)."""

    name: str
    low: int
    description: str
    high: int | None = None
    default: int | None = None

    def schema(self) -> dict[str, Any]:
        high = QUERY_INT_MAX if self.high is None else self.high
        schema: dict[str, Any] = {"type": "integer", "minimum": self.low, "maximum": high}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class ChoiceParam:
    """A query value that must be one of `choices`."""

    name: str
    choices: tuple[str, ...]
    description: str
    default: str | None = None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": list(self.choices)}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class TextParam:
    """A query value or header: text up to `max_length`, matching `pattern` where given."""

    name: str
    description: str
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return schema


Param = IntParam | ChoiceParam | TextParam

LIMIT = IntParam("limit", 1, "Page size.", high=LIST_LIMIT_MAX, default=LIST_LIMIT_DEFAULT)
CURSOR = TextParam(
    "cursor",
    "An opaque token issued by the service: the next_cursor of the previous page of the same "
    "list, for the same caller, as it was sent. It is authenticated: any other value, one "
    "altered in any way or issued for another list or caller, is 400.",
    max_length=CURSOR_MAX_CHARS,
    min_length=1,
    pattern=CURSOR_PATTERN,
)
STATUS = ChoiceParam("status", ("active", "expired", "ended"), "Only sessions with this status.")
ORDER = ChoiceParam("order", ("asc", "desc"), "Sort order by seq.", default="asc")
AFTER_SEQ = IntParam("after_seq", 0, "Only messages with a greater seq.")
DIFF_FROM = IntParam("from", 1, "The version to start from.")
DIFF_TO = IntParam("to", 1, "The version to arrive at.")
NOTE = TextParam("note", "Why the change was made.", max_length=NOTE_MAX)
MAX_BYTES = IntParam(
    "max_bytes",
    1000,
    "The most bytes the messages may take (the compact JSON of the messages array).",
    high=2_000_000,
    default=200_000,
)
CONFIRM = ChoiceParam("confirm", ("all",), "Must be all: deletes every session of the caller.")
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_KEY = TextParam(
    "Idempotency-Key",
    f"1..{IDEMPOTENCY_KEY_MAX} visible ASCII characters (! to ~), else 400. A retry with the "
    "same key and the same request gets the first answer again, with Idempotent-Replayed: "
    "true, and writes nothing; the same key with another request: 422 "
    "idempotency_key_reused.",
    max_length=IDEMPOTENCY_KEY_MAX,
    min_length=1,
    pattern=IDEMPOTENCY_KEY_PATTERN,
)
IF_MATCH = TextParam(
    "If-Match",
    '"<version>", W/"<version>", a comma-separated list of them, or *: store only if the '
    "current version matches (else 412); any other value (empty included): 400.",
    pattern=IF_MATCH_PATTERN,
)

# Path parameters: a malformed one is 404, like one that names nothing.
SESSION_ID_SCHEMA = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
VERSION_SCHEMA = {"type": "integer", "minimum": 1, "maximum": VERSION_MAX}
