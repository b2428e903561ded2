"""Size limits of api.md (413 over them)."""

from __future__ import annotations

from typing import Any

from chat_sessions import jsonutil
from chat_sessions.config import get_settings
from chat_sessions.errors import PayloadTooLarge, ValidationFailed
from chat_sessions.json_patch import levels


def check_metadata_size(metadata: dict[str, Any]) -> None:
    limit = get_settings().max_metadata_bytes
    if jsonutil.size(metadata) > limit:
        raise PayloadTooLarge(f"metadata is over {limit} bytes")


def check_content_size(content: str, what: str = "message content") -> None:
    """A message's (or a summary's) content counts as the UTF-8 bytes of its text."""
    limit = get_settings().max_message_bytes
    if len(content.encode("utf-8")) > limit:
        raise PayloadTooLarge(f"{what} is over {limit} bytes")


def check_workflow_size(workflow: dict[str, Any]) -> None:
    limit = get_settings().max_workflow_bytes
    if jsonutil.size(workflow) > limit:
        raise PayloadTooLarge(f"the workflow is over {limit} bytes")


# A workflow sits one level inside a request body ({"workflow": ...}), whose limit is 32.
MAX_WORKFLOW_LEVELS = jsonutil.MAX_DEPTH - 1


def check_workflow_depth(workflow: Any) -> None:
    """A workflow nests at most MAX_WORKFLOW_LEVELS containers deep (422 beyond)."""
    if levels(workflow) > MAX_WORKFLOW_LEVELS:
        message = f"the workflow nests deeper than {MAX_WORKFLOW_LEVELS} levels"
        raise ValidationFailed(message, [{"field": "", "message": message}])
