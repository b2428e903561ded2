"""With the expiry settings turned down to seconds, the local server alone takes a session
from active to expired to gone: the scheduled cleanup marks it, then deletes every item."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.dynamodb import local_client
from tests.helpers.processes import describe
from tests.helpers.server import LocalServer, start_server

pytestmark = pytest.mark.e2e
SETTINGS = {
    "SESSION_TIMEOUT_MINUTES": "0.03",  # 1.8 s idle
    "SESSION_GRACE_HOURS": "0.0005",  # 1.8 s of grace
    "SESSION_CLEANUP_INTERVAL_MINUTES": "0.01",  # every 0.6 s
    "LOCAL_FUNCTION_LOGS": "0",
}


@pytest.fixture
def fast_server(tmp_path: Path) -> Iterator[LocalServer]:
    server = start_server(tmp_path / "server.log", SETTINGS)
    try:
        yield server
    finally:
        left = server.stop()
        assert not left, describe(left)


def test_a_session_goes_active_expired_gone_with_no_manual_step(fast_server: LocalServer) -> None:
    # Given a session with a message, never touched again
    created = fast_server.request("POST", "/sessions", {"initial_description": "short-lived"})
    assert created.status == 201
    session_id = created.json()["id"]
    table = local_client(f"http://127.0.0.1:{fast_server.dynamodb_port}")

    def stored() -> tuple[str | None, int]:
        items = table.query(
            TableName="ChatSessions",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": session_id}},
        )["Items"]
        session = next((i for i in items if i["sk"]["S"] == "SESSION"), None)
        return (session["status"]["S"] if session else None), len(items)

    # When only the clock and the scheduled cleanup act on it (no reads through the API)
    seen: list[str | None] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, count = stored()
        if not seen or seen[-1] != status:
            seen.append(status)
        if status is None:
            assert count == 0, "items left after the session item was deleted"
            break
        time.sleep(0.1)

    # Then the stored status went active, expired, and the session with all its items is gone
    assert seen == ["active", "expired", None], (seen, fast_server.log()[-2000:])
    assert fast_server.request("GET", f"/sessions/{session_id}").status == 404
    assert '"expired": 1' in fast_server.log() and '"deleted": 1' in fast_server.log()
