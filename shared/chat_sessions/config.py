"""Settings: one validated model read once from the environment, checked when a function
starts (`check_at_init`), so that a bad setting is an init failure, never an outage."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chat_sessions.observability import logger

# api.md: settings are bounded so that no setting can make an item exceed DynamoDB's 400 KB.
MAX_MESSAGE_BYTES_BOUND = 262144
MAX_METADATA_BYTES_BOUND = 65536
MAX_WORKFLOW_BYTES_BOUND = 262144
# The retry budget must stay under the function's Timeout: in AWS that is 29 s (API Gateway
# gives up at 30 s), so deployments keep the default 25; the bound is looser because the
# local stack's tests run functions with longer timeouts.
WRITE_RETRY_SECONDS_BOUND = 600

CURSOR_KEY_ENV = "CURSOR_KEY"
CURSOR_KEY_MIN_CHARS = 32


class SettingsError(RuntimeError):
    """A setting out of its bounds, or the cursor key missing: the function must not start."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field("ChatSessions", alias="TABLE_NAME", min_length=1)
    session_timeout_minutes: float = Field(30, alias="SESSION_TIMEOUT_MINUTES", gt=0)
    session_max_lifetime_hours: float = Field(24, alias="SESSION_MAX_LIFETIME_HOURS", gt=0)
    session_grace_hours: float = Field(24, alias="SESSION_GRACE_HOURS", ge=0)
    max_message_bytes: int = Field(
        65536, alias="MAX_MESSAGE_BYTES", gt=0, le=MAX_MESSAGE_BYTES_BOUND
    )
    max_metadata_bytes: int = Field(
        8192, alias="MAX_METADATA_BYTES", gt=0, le=MAX_METADATA_BYTES_BOUND
    )
    max_workflow_bytes: int = Field(
        262144, alias="MAX_WORKFLOW_BYTES", gt=0, le=MAX_WORKFLOW_BYTES_BOUND
    )
    max_messages_per_session: int = Field(10000, alias="MAX_MESSAGES_PER_SESSION", gt=0)
    max_workflow_versions: int = Field(1000, alias="MAX_WORKFLOW_VERSIONS", gt=0)
    # Shards of the by-deadline index: spreads the cleanup's reads over partitions.
    deadline_shards: int = Field(8, alias="DEADLINE_SHARDS", ge=1, le=64)
    # How long writers contending for one session retry inside the service (under API
    # Gateway's 30 s integration timeout: in AWS it must stay under the 29 s Timeout).
    write_retry_seconds: float = Field(
        25, alias="WRITE_RETRY_SECONDS", gt=0, le=WRITE_RETRY_SECONDS_BOUND
    )
    # How long one DynamoDB request may go unanswered before it is retried (each request's
    # deadline still bounds the whole); tests on a loaded machine set it higher.
    dynamodb_read_timeout_seconds: float = Field(
        3, alias="DYNAMODB_READ_TIMEOUT_SECONDS", gt=0, le=20
    )

    @property
    def timeout(self) -> timedelta:
        return timedelta(minutes=self.session_timeout_minutes)

    @property
    def max_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_max_lifetime_hours)

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.session_grace_hours)


_ALIASES = {field.alias for field in Settings.model_fields.values() if field.alias}


@cache
def get_settings() -> Settings:
    """The settings of this process (tests call `get_settings.cache_clear()` after changes)."""
    return Settings.model_validate({k: v for k, v in os.environ.items() if k in _ALIASES})


@cache
def cursor_key() -> bytes:
    """The secret key that authenticates list cursors (`CURSOR_KEY`): generated at deploy
    (AWS), per run (`make run`) or by the test harness; never a default anyone could know."""
    text = os.environ.get(CURSOR_KEY_ENV, "")
    if len(text) < CURSOR_KEY_MIN_CHARS or text.startswith("{{resolve:"):
        raise SettingsError(
            f"{CURSOR_KEY_ENV} is missing, unresolved or shorter than {CURSOR_KEY_MIN_CHARS} "
            "characters: list cursors cannot be authenticated (the stack sets it from its "
            "generated secret, `make run` from a random key per run)"
        )
    return text.encode("utf-8")


def _problem(error: Any) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "settings"
    bounds = error.get("ctx") or {}
    if "le" in bounds:
        rule = f"at most {bounds['le']}"
    elif "ge" in bounds:
        rule = f"at least {bounds['ge']}"
    elif "gt" in bounds:
        rule = f"more than {bounds['gt']}"
    elif "lt" in bounds:
        rule = f"less than {bounds['lt']}"
    else:
        rule = str(error["msg"]).lower()
    return f"{name}={error.get('input')!r} is not allowed: it must be {rule}"


def check_at_init(*, needs_cursor_key: bool) -> Settings:
    """Read and check every setting the function uses; call it at module level (Lambda's
    init). A bad one is logged as one line naming the setting and its bound, and raised, so
    that Lambda reports an init failure instead of failing requests one by one."""
    try:
        settings = get_settings()
        if needs_cursor_key:
            cursor_key()
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors(include_url=False))
        message = f"the function cannot start: {problems}"
        logger.error(message)
        raise SettingsError(message) from None
    except SettingsError as exc:
        message = f"the function cannot start: {exc}"
        logger.error(message)
        raise SettingsError(message) from None
    return settings
