"""Settings: one validated model read once from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field("ChatSessions", alias="TABLE_NAME", min_length=1)
    session_timeout_minutes: float = Field(30, alias="SESSION_TIMEOUT_MINUTES", gt=0)
    session_max_lifetime_hours: float = Field(24, alias="SESSION_MAX_LIFETIME_HOURS", gt=0)
    session_grace_hours: float = Field(24, alias="SESSION_GRACE_HOURS", ge=0)
    max_message_bytes: int = Field(65536, alias="MAX_MESSAGE_BYTES", gt=0)
    max_metadata_bytes: int = Field(8192, alias="MAX_METADATA_BYTES", gt=0)
    max_workflow_bytes: int = Field(262144, alias="MAX_WORKFLOW_BYTES", gt=0, le=262144)
    max_messages_per_session: int = Field(10000, alias="MAX_MESSAGES_PER_SESSION", gt=0)
    max_workflow_versions: int = Field(1000, alias="MAX_WORKFLOW_VERSIONS", gt=0)
    # Shards of the by-deadline index: spreads the cleanup's reads over partitions.
    deadline_shards: int = Field(8, alias="DEADLINE_SHARDS", ge=1, le=64)
    # How long writers contending for one session retry inside the service (under API
    # Gateway's 30 s integration timeout).
    write_retry_seconds: float = Field(25, alias="WRITE_RETRY_SECONDS", gt=0)

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
