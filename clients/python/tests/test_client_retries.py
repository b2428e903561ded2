"""Retries and idempotency against the real stack: writes whose reply is lost on the way are
repeated with their key and replayed by the service, never stored twice; under the strict
stack's injected DynamoDB faults (LOCAL_DDB_FAULTS) the service's 503s are waited out
(Retry-After) and every write is stored exactly once."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from chat_sessions_client import Client, RetryPolicy, Session
from client_support import STACK_SETTINGS, Exchange, recorded_client, running_stack, stop

from tests.helpers.server import LocalServer

# Most DynamoDB requests are throttled and some replies lost: the service's own retries give
# out now and then, and it answers 503 with Retry-After. The seed makes a run repeatable.
FAULTS = {"LOCAL_DDB_FAULTS": "throttle=0.7,lost_reply=0.03", "LOCAL_DDB_SEED": "11"}
PATIENT = RetryPolicy(max_retries=10, backoff=0.2, max_backoff=2.0)
QUICK = RetryPolicy(max_retries=2, backoff=0.05)


@pytest.fixture(scope="module")
def faulty_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = running_stack(tmp_path_factory, "faulty-stack", {**STACK_SETTINGS, **FAULTS})
    try:
        yield server
    finally:
        stop(server)


def attempts_by_key(exchanges: list[Exchange]) -> dict[str, list[Exchange]]:
    grouped: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        if exchange.idempotency_key is not None:
            grouped.setdefault(exchange.idempotency_key, []).append(exchange)
    return grouped


def test_writes_under_dynamodb_faults_are_stored_exactly_once(
    faulty_stack: LocalServer, token: str
) -> None:
    # Given a patient client of the faulty stack
    client, recorder = recorded_client(faulty_stack.url, token, retry=PATIENT)
    with client:
        # When a conversation of 12 messages and 3 workflow versions is written
        session = client.sessions.create(title="under faults")
        contents = [f"message {n}" for n in range(1, 13)]
        for n, content in enumerate(contents, start=1):
            client.messages.append(session.id, role="user", content=content)
            if n % 4 == 0:
                client.workflow.put(session.id, {"name": "etl", "step": n}, if_match=n // 4 - 1)

        # Then each was stored once, in order
        stored = list(client.messages.list(session.id))
        assert [m.content for m in stored] == contents
        assert [m.seq for m in stored] == list(range(1, 13))
        assert [v.version for v in client.workflow.versions(session.id)] == [3, 2, 1]
        assert client.sessions.get(session.id).message_count == 12

    # And the service answered 503 along the way: each was repeated with the write's own key,
    # no sooner than its Retry-After
    writes = attempts_by_key(recorder.exchanges)
    assert len(writes) == 1 + 12 + 3
    repeated = {key: tries for key, tries in writes.items() if len(tries) > 1}
    assert repeated, "no write met a 503: raise the fault rates"
    for tries in repeated.values():
        assert tries[-1].status in (200, 201)
        for busy, following in itertools.pairwise(tries):
            assert busy.status == 503 and busy.retry_after is not None
            assert following.at - busy.at >= float(busy.retry_after) - 0.05


def test_reads_under_dynamodb_faults_are_repeated_until_answered(
    faulty_stack: LocalServer, token: str
) -> None:
    client, recorder = recorded_client(faulty_stack.url, token, retry=PATIENT)
    with client:
        session = client.sessions.create()
        for _ in range(8):
            assert client.sessions.get(session.id).id == session.id
    reads = [e for e in recorder.exchanges if e.method == "GET"]
    assert all(e.idempotency_key is None for e in reads)
    assert reads[-1].status == 200


@dataclass(frozen=True)
class Write:
    """A write whose first reply is lost, and what the session must show after it."""

    method: str
    path_end: str
    write: Callable[[Client, Session], Any]
    state: Callable[[Client, Session], Any]
    expected: Any


def _fresh(client: Client) -> Session:
    """A session with three messages and two workflow versions."""
    session = client.sessions.create(title="before", initial_description="one")
    client.messages.append(session.id, role="assistant", content="two")
    client.messages.append(session.id, role="user", content="three")
    client.workflow.put(session.id, {"name": "etl", "items": []})
    client.workflow.put(session.id, {"name": "etl", "items": [1]})
    return session


def _counts(client: Client, session: Session) -> tuple[int, int]:
    current = client.sessions.get(session.id)
    return current.message_count, current.workflow_version


def _sessions(client: Client, _: Session) -> int:
    return len(list(client.sessions.list()))


WRITES = {
    "sessions.create": Write(
        "POST", "/sessions", lambda c, s: c.sessions.create(title="new"), _sessions, 2
    ),
    "sessions.update": Write(
        "PATCH",
        "",
        lambda c, s: c.sessions.update(s.id, title="after", metadata={"k": 1}),
        lambda c, s: (c.sessions.get(s.id).title, c.sessions.get(s.id).metadata),
        ("after", {"k": 1}),
    ),
    "sessions.end": Write(
        "POST",
        "/end",
        lambda c, s: c.sessions.end(s.id),
        lambda c, s: c.sessions.get(s.id).status,
        "ended",
    ),
    "sessions.fork": Write("POST", "/fork", lambda c, s: c.sessions.fork(s.id), _sessions, 2),
    "sessions.rewind": Write(
        "POST", "/rewind", lambda c, s: c.sessions.rewind(s.id, to_seq=2), _counts, (2, 2)
    ),
    "sessions.import_document": Write(
        "POST",
        "/sessions/import",
        lambda c, s: c.sessions.import_document(c.sessions.export(s.id)),
        _sessions,
        2,
    ),
    "sessions.put_summary": Write(
        "PUT",
        "/summary",
        lambda c, s: c.sessions.put_summary(s.id, content="sum", covers_seq=3),
        lambda c, s: c.sessions.get_summary(s.id).content,
        "sum",
    ),
    "messages.append": Write(
        "POST",
        "/messages",
        lambda c, s: c.messages.append(s.id, role="user", content="four"),
        _counts,
        (4, 2),
    ),
    "turns.create": Write(
        "POST",
        "/turns",
        lambda c, s: c.turns.create(
            s.id,
            messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            workflow_patch={"name": "etl2"},
        ),
        _counts,
        (5, 3),
    ),
    "workflow.put": Write(
        "PUT",
        "/workflow",
        lambda c, s: c.workflow.put(s.id, {"name": "other"}),
        _counts,
        (3, 3),
    ),
    "workflow.merge_patch": Write(
        "PATCH",
        "/workflow",
        lambda c, s: c.workflow.merge_patch(s.id, {"owner": "me"}),
        _counts,
        (3, 3),
    ),
    "workflow.json_patch": Write(
        "PATCH",
        "/workflow",
        lambda c, s: c.workflow.json_patch(s.id, [{"op": "add", "path": "/items/-", "value": 2}]),
        lambda c, s: c.workflow.get(s.id).workflow["items"],
        [1, 2],
    ),
    "workflow.revert": Write(
        "POST", "/workflow/revert", lambda c, s: c.workflow.revert(s.id, 1), _counts, (3, 3)
    ),
}


def lose_first_reply(method: str, path_end: str) -> Callable[[httpx.Request], bool]:
    """Loses the reply to the first request with this method whose path ends so."""
    lost: list[httpx.Request] = []

    def lose(request: httpx.Request) -> bool:
        if lost or request.method != method or not request.url.path.endswith(path_end):
            return False
        lost.append(request)
        return True

    return lose


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_whose_reply_was_lost_is_repeated_and_replayed_not_redone(
    name: str, client: Client, stack: LocalServer, token: str
) -> None:
    # Given a session, and a client that will lose the reply to this write once
    case = WRITES[name]
    session = _fresh(client)
    lose = lose_first_reply(case.method, case.path_end)
    lossy, recorder = recorded_client(stack.url, token, lose_reply=lose, retry=QUICK)

    # When the write is made
    with lossy:
        case.write(lossy, session)

    # Then it was sent again with the same key, the service replayed its first answer, and
    # the session shows one write
    [lost] = recorder.lost
    repeats = [e for e in recorder.exchanges if e.idempotency_key == lost.idempotency_key]
    assert lost.idempotency_key and len(repeats) == 2
    assert repeats[1].status == lost.status and repeats[1].replayed
    assert case.state(client, session) == case.expected
