"""The one clock of the service, and the one timestamp format (RFC 3339, ms, `Z`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time, UTC, truncated to milliseconds (what timestamps can represent)."""
    value = _source()
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@contextmanager
def frozen(source: Callable[[], datetime]) -> Iterator[None]:
    """Replace the clock for the duration of a block (tests)."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous


def to_text(value: datetime) -> str:
    """`2026-11-24T05:31:00.123Z`: fixed width, so text order is time order."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def epoch_seconds(value: datetime) -> int:
    return int(value.timestamp())
