"""The scheduled cleanup through the real CleanupFunction handler, against moto: expiry,
grace and deletion, and writes that race the cleanup."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chat_sessions import session_access
from chat_sessions.statuses import SessionStatus
from tests.helpers.api import Api
from tests.helpers.cleanup import T0, add_messages, at, cleanup, client, keys_under, stored_status

# --- expiry and grace -----------------------------------------------------------------


def test_a_written_session_stays_active_and_an_idle_one_is_expired(api: Api) -> None:
    # Given two sessions created at T0, one of them written to 20 minutes later
    with at(T0):
        used, idle = api.create()["id"], api.create()["id"]
    with at(T0 + timedelta(minutes=20)):
        assert api.append(used).status == 201
    # When the cleanup runs at T0 + 30 min, when only the idle one's timeout has passed
    with at(T0 + timedelta(minutes=30)):
        result = cleanup()
        again = cleanup()
        # Then only the idle session is stored as expired, and a second run finds nothing
        assert result == {"expired": 1, "deleted": 0}
        assert again == {"expired": 0, "deleted": 0}
        assert (stored_status(used), stored_status(idle)) == ("active", "expired")
        assert api.call("sessions_get", session_id=idle).body["status"] == "expired"
    stored = session_access.get_store().get_session(idle)
    assert stored is not None and stored.deadline == stored.delete_after


def test_the_maximum_lifetime_expires_a_busy_session(api: Api, settings: Any) -> None:
    # Given a lifetime of one hour and a session written to every 20 minutes
    settings(SESSION_MAX_LIFETIME_HOURS="1")
    with at(T0):
        session = api.create()["id"]
    for minutes in (20, 40, 50):
        with at(T0 + timedelta(minutes=minutes)):
            assert api.append(session).status == 201
    # When the cleanup runs just before and at the end of its lifetime
    with at(T0 + timedelta(minutes=60) - timedelta(milliseconds=1)):
        before = cleanup()
    with at(T0 + timedelta(minutes=60)):
        at_cap = cleanup()
    # Then it is expired at the cap although its last write was 10 minutes earlier
    assert before == {"expired": 0, "deleted": 0}
    assert at_cap == {"expired": 1, "deleted": 0}
    assert stored_status(session) == "expired"


def test_an_expired_session_stays_readable_for_the_grace_period_then_goes(
    api: Api, settings: Any
) -> None:
    # Given a grace period of one hour and a session with messages, expired by the cleanup
    settings(SESSION_GRACE_HOURS="1")
    with at(T0):
        session = api.create(initial_description="first")["id"]
        assert api.append(session, "second").status == 201
    with at(T0 + timedelta(minutes=31)):
        assert cleanup() == {"expired": 1, "deleted": 0}
    # When the cleanup runs just before the grace period ends
    with at(T0 + timedelta(minutes=90) - timedelta(milliseconds=1)):
        during = cleanup()
        # Then nothing is deleted and the session still reads as expired
        assert during == {"expired": 0, "deleted": 0}
        assert api.call("sessions_get", session_id=session).body["status"] == "expired"
    # When it runs at the end of the grace period, and once more right after
    with at(T0 + timedelta(minutes=90)):
        after, again = cleanup(), cleanup()
        # Then the session and all its items are gone, and the second run finds nothing
        assert after == {"expired": 0, "deleted": 1}
        assert again == {"expired": 0, "deleted": 0}
        assert api.call("sessions_get", session_id=session).status == 404
    assert keys_under(session) == set()


def test_an_active_session_whose_grace_period_also_passed_is_deleted_in_one_run(
    api: Api, settings: Any
) -> None:
    # Given a grace of one hour and a session nobody expired (the cleanup did not run)
    settings(SESSION_GRACE_HOURS="1")
    with at(T0):
        session = api.create(initial_description="first")["id"]
    # When the cleanup runs after its expiry and its grace period
    with at(T0 + timedelta(hours=2)):
        result = cleanup()
    # Then it is deleted at once, with no expiry write first
    assert result == {"expired": 0, "deleted": 1}
    assert keys_under(session) == set()


def test_a_session_written_between_the_query_and_the_mark_is_not_expired(api: Api) -> None:
    # Given a session due at T0 + 30 min, and a writer that read it just before then and
    # whose append lands after the cleanup's query, right before its conditional update
    with at(T0):
        session = api.create(initial_description="first")["id"]
    appended: list[int] = []

    def append_first(**_: Any) -> None:
        if not appended:
            with at(T0 + timedelta(minutes=29)):
                appended.append(api.append(session, "just in time").status)

    client().meta.events.register("before-call.dynamodb.UpdateItem", append_first)
    # When the cleanup runs at T0 + 30 min
    with at(T0 + timedelta(minutes=30)):
        result = cleanup()
        # Then the append went through and the session is still active
        assert appended == [201]
        assert result == {"expired": 0, "deleted": 0}
        assert stored_status(session) == "active"
        body = api.call("sessions_get", session_id=session).body
        assert (body["status"], body["message_count"]) == ("active", 2)


def test_a_session_written_between_the_index_query_and_its_deletion_keeps_its_items(
    api: Api, settings: Any
) -> None:
    # Given no grace period, so an idle session is due for deletion at its expiry, and a
    # writer that read it just before then and whose append lands between the index query
    # and the query of the session's keys
    settings(SESSION_GRACE_HOURS="0")
    with at(T0):
        session = api.create(initial_description="first")["id"]
    appended: list[int] = []

    def append_first(params: dict[str, Any], **_: Any) -> None:
        if not appended and b"IndexName" not in params["body"]:
            with at(T0 + timedelta(minutes=29)):
                appended.append(api.append(session, "just in time").status)

    client().meta.events.register("before-call.dynamodb.Query", append_first)
    # When the cleanup runs at the session's former expiry
    with at(T0 + timedelta(minutes=30)):
        result = cleanup()
    # Then it re-reads the session before deleting and leaves every item alone
    assert appended == [201]
    assert result == {"expired": 0, "deleted": 0}
    assert stored_status(session) == "active"
    assert len(keys_under(session)) == 5


def test_a_run_with_less_time_left_than_its_margin_leaves_everything_to_the_next(
    api: Api,
) -> None:
    # Given an idle session due for expiry
    with at(T0):
        session = api.create()["id"]
    with at(T0 + timedelta(minutes=30)):
        # When a run starts with 9 s left, under the 10 s margin, and then one with enough
        short = cleanup(lambda: 9_000)
        status_after_short = stored_status(session)
        full = cleanup()
    # Then the first does nothing and the second does the work
    assert (short, status_after_short) == ({"expired": 0, "deleted": 0}, "active")
    assert full == {"expired": 1, "deleted": 0}


def test_an_ended_session_is_deleted_when_its_grace_period_ends(
    api: Api, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a grace of two hours, an ended session and an active one
    settings(SESSION_GRACE_HOURS="2")
    with at(T0):
        ended = api.create(initial_description="first")["id"]
        assert api.call("sessions_end", session_id=ended).status == 200
    due = T0 + timedelta(hours=2)
    with at(due - timedelta(minutes=1)):
        active = api.create(initial_description="still going")["id"]
    # When the cleanup runs just before and at the end of the grace period
    with at(due - timedelta(milliseconds=1)):
        before = cleanup()
    with at(due):
        on_time, again = cleanup(), cleanup()
    # Then the ended session goes on time with all its items; the active one is untouched
    assert before == {"expired": 0, "deleted": 0}
    assert (on_time, again) == ({"expired": 0, "deleted": 1}, {"expired": 0, "deleted": 0})
    assert keys_under(ended) == set()
    assert stored_status(active) == "active"
    assert len(keys_under(active)) == 3
    # And every run publishes both counts as metrics
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    counts = [
        (m["SessionsExpired"], m["SessionsDeleted"]) for m in emitted if "SessionsDeleted" in m
    ]
    assert counts == [([0.0], [0.0]), ([0.0], [1.0]), ([0.0], [0.0])]


def test_a_delete_interrupted_mid_way_is_finished_by_the_cleanup(api: Api) -> None:
    # Given a session whose DELETE failed after marking it deleted, its items still there
    with at(T0):
        session = api.create(initial_description="first")["id"]
        add_messages(session, 40, first_seq=2)

    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError"}}, "BatchWriteItem")

    client().meta.events.register("before-call.dynamodb.BatchWriteItem", fail)
    with at(T0 + timedelta(minutes=1)):
        assert api.call("sessions_delete", session_id=session).status == 503
    client().meta.events.unregister("before-call.dynamodb.BatchWriteItem", fail)
    assert stored_status(session) == SessionStatus.DELETED
    assert len(keys_under(session)) == 83
    # When the cleanup runs
    with at(T0 + timedelta(minutes=1)):
        result = cleanup()
    # Then it deletes everything that was left
    assert result == {"expired": 0, "deleted": 1}
    assert keys_under(session) == set()
