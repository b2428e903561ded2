"""Typed client of the chat-session service.

from chat_sessions_client import Client

with Client("http://127.0.0.1:3000", token="...") as client:
    session = client.sessions.create(title="Nightly ETL")
    client.messages.append(session.id, role="user", content="Load the CSV")
"""

from chat_sessions_client.async_client import AsyncClient
from chat_sessions_client.client import Client
from chat_sessions_client.errors import (
    BadRequest,
    ChatSessionsError,
    GatewayError,
    IdempotencyKeyReused,
    InternalError,
    LimitExceeded,
    NotFound,
    PatchFailed,
    PayloadTooLarge,
    SessionNotActive,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
    VersionConflict,
)
from chat_sessions_client.models import (
    Context,
    ContextWorkflow,
    CurrentWorkflow,
    Diff,
    ForkedFrom,
    ImportedFrom,
    Message,
    Session,
    SessionSummary,
    Summary,
    TurnResult,
    WorkflowVersion,
)
from chat_sessions_client.operations import UNSET
from chat_sessions_client.retries import RetryPolicy
from chat_sessions_client.version import __version__

__all__ = [
    "UNSET",
    "AsyncClient",
    "BadRequest",
    "ChatSessionsError",
    "Client",
    "Context",
    "ContextWorkflow",
    "CurrentWorkflow",
    "Diff",
    "ForkedFrom",
    "GatewayError",
    "IdempotencyKeyReused",
    "ImportedFrom",
    "InternalError",
    "LimitExceeded",
    "Message",
    "NotFound",
    "PatchFailed",
    "PayloadTooLarge",
    "RetryPolicy",
    "Session",
    "SessionNotActive",
    "SessionSummary",
    "Summary",
    "TurnResult",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "ValidationFailed",
    "VersionConflict",
    "WorkflowVersion",
    "__version__",
]
