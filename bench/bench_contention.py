"""200 simultaneous appends to one session through the service layer against the embedded
DynamoDB: how long until all are stored, and how many write attempts that took."""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

from chat_sessions import config, messages, session_access, sessions
from chat_sessions.models import CreateSessionIn, MessageIn
from local.dynamodb import local_client
from local.template import create_table
from local.threads import run_together

WRITERS = 200


def run(url: str) -> dict[str, Any]:
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=url,
        TABLE_NAME="ContentionBench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - the embedded DynamoDB takes any
    )
    config.get_settings.cache_clear()
    session_access.get_table.cache_clear()
    create_table(local_client(url), "ContentionBench")
    session = sessions.create_session("bench", CreateSessionIn(), None).value
    calls: Counter[str] = Counter()
    session_access.get_table().client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.update([model.name])
    )
    start = threading.Barrier(WRITERS)

    def append(i: int) -> None:
        start.wait()
        messages.append_message("bench", session.id, MessageIn(role="user", content=f"m{i}"))

    elapsed = run_together(append, WRITERS)
    stored = sessions.get_session("bench", session.id).message_count
    return {
        "writers": WRITERS,
        "stored": stored,
        "seconds": round(elapsed, 1),
        "attempts_per_append": round(calls["TransactWriteItems"] / WRITERS, 1),
    }
