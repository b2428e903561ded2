"""The rules an export document brought to POST /sessions/import keeps beyond its schema,
pure (the settings passed in), in api.md's order.

What the body breaks by itself comes first: change lines longer than a stored version may
hold (422), then a message, summary, metadata map or workflow over its limit (413). What it
breaks as a session comes after an Idempotency-Key's replay: seqs and versions that do not
run 1..n, a message id used twice, a revert of a later version, a summary past the messages
(422), then more messages or versions than a session holds (409). A workflow cannot nest
deeper than a stored one may: the body's own depth limit (32) leaves it at most 29 levels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from chat_sessions.config import Settings
from chat_sessions.errors import ApiError, LimitExceeded, PayloadTooLarge, ValidationFailed
from chat_sessions.lifecycle_models import ImportIn
from chat_sessions.limits import check_content_size, check_metadata_size, check_workflow_size
from chat_sessions.workflows import MAX_CHANGES_BYTES

# api.md: an import document is at most 2 500 000 bytes (413), checked before it is parsed.
MAX_DOCUMENT_BYTES = 2_500_000
# A 422 lists at most this many fields (as the schema's own errors do).
MAX_DETAILS = 20

Detail = dict[str, str]


def document_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"an import document is at most {MAX_DOCUMENT_BYTES} bytes")


def check_body(document: ImportIn) -> None:
    """422 for change lines a version cannot hold, then 413 for anything over its size limit."""
    details = [
        {
            "field": f"versions.{index}.changes",
            "message": f"the change lines take more than {MAX_CHANGES_BYTES} bytes",
        }
        for index, version in enumerate(document.versions)
        if sum(len(line.encode("utf-8")) + 1 for line in version.changes) > MAX_CHANGES_BYTES
    ]
    _raise_invalid("the document's change lines are too long", details)
    for name, check, value in _sized_parts(document):
        try:
            check(value)
        except PayloadTooLarge as exc:
            raise PayloadTooLarge(f"{name}: {exc.message}") from None


def _sized_parts(document: ImportIn) -> Iterator[tuple[str, Callable[[Any], None], Any]]:
    yield "session.metadata", check_metadata_size, document.session.metadata
    for index, message in enumerate(document.messages):
        yield f"messages.{index}.content", check_content_size, message.content
        yield f"messages.{index}.metadata", check_metadata_size, message.metadata
    for index, version in enumerate(document.versions):
        yield f"versions.{index}.workflow", check_workflow_size, version.workflow
    if document.summary is not None:
        yield "summary.content", check_content_size, document.summary.content
        yield "summary.metadata", check_metadata_size, document.summary.metadata


def session_problem(document: ImportIn, settings: Settings) -> ApiError | None:
    """What the document breaks as a session: 422 (the first fields named), else 409 for
    its counts; None when it makes a valid session."""
    details = list(_inconsistencies(document))
    if details:
        return ValidationFailed(
            "the document is not a consistent session: " + details[0]["message"],
            details[:MAX_DETAILS],
        )
    if len(document.messages) > settings.max_messages_per_session:
        return LimitExceeded(
            f"a session holds at most {settings.max_messages_per_session} messages; the "
            f"document has {len(document.messages)}"
        )
    if len(document.versions) > settings.max_workflow_versions:
        return LimitExceeded(
            f"a session holds at most {settings.max_workflow_versions} versions; the document "
            f"has {len(document.versions)}"
        )
    return None


def _inconsistencies(document: ImportIn) -> Iterator[Detail]:
    first_use: dict[str, int] = {}
    for index, message in enumerate(document.messages):
        if message.seq != index + 1:
            yield _detail(
                f"messages.{index}.seq",
                f"must be {index + 1}: seqs run from 1 in order, without gaps",
            )
        earlier = first_use.setdefault(message.id, index)
        if earlier != index:
            yield _detail(f"messages.{index}.id", f"is the id of messages.{earlier} too")
    for index, version in enumerate(document.versions):
        if version.version != index + 1:
            yield _detail(
                f"versions.{index}.version",
                f"must be {index + 1}: versions run from 1 in order, without gaps",
            )
        if version.reverted_from is not None and version.reverted_from >= version.version:
            yield _detail(f"versions.{index}.reverted_from", "must name a version before this one")
    summary = document.summary
    if summary is not None and summary.covers_seq > len(document.messages):
        yield _detail(
            "summary.covers_seq",
            f"must be at most {len(document.messages)}, the number of messages",
        )


def _detail(field: str, message: str) -> Detail:
    return {"field": field, "message": f"{field} {message}"}


def _raise_invalid(message: str, details: list[Detail]) -> None:
    if details:
        raise ValidationFailed(message, details[:MAX_DETAILS])
