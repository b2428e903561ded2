"""Each error of the service, and of the gateway in front of it, raised by the client as its
own class with status, code, message and details (InternalError and Unavailable, which the
service answers only on a defect or under faults, are in test_client_retry_policy.py and
test_client_retries.py)."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from chat_sessions_client import (
    BadRequest,
    ChatSessionsError,
    Client,
    GatewayError,
    IdempotencyKeyReused,
    LimitExceeded,
    NotFound,
    PatchFailed,
    PayloadTooLarge,
    SessionNotActive,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    VersionConflict,
)
from client_support import MAX_MESSAGES_PER_SESSION

from local.jwt_auth import ALGORITHM, secret_from_env, short_keys_allowed
from tests.helpers.server import LocalServer


class PlainTextBodies(httpx.HTTPTransport):
    """Sends every body as text/plain, as a misconfigured proxy might."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "Content-Type" in request.headers:
            request.headers["Content-Type"] = "text/plain"
        return super().handle_request(request)


def test_a_missing_session_and_a_malformed_id_are_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        client.sessions.get(uuid.uuid4())
    with pytest.raises(NotFound) as malformed:
        client.messages.append("not-a-uuid", role="user", content="hi")
    for raised in (missing.value, malformed.value):
        assert (raised.status, raised.code) == (404, "not_found") and raised.message


def test_another_callers_session_is_not_found(client: Client, stack: LocalServer) -> None:
    session = client.sessions.create()
    with Client(stack.url, token=stack.token) as other, pytest.raises(NotFound):
        other.sessions.get(session.id)


def test_a_token_without_sub_is_unauthorized_by_the_function(stack: LocalServer) -> None:
    now = int(time.time())
    with short_keys_allowed():
        no_sub = jwt.encode({"iat": now, "exp": now + 600}, secret_from_env(), ALGORITHM)
    with Client(stack.url, token=no_sub) as client, pytest.raises(Unauthorized) as raised:
        client.sessions.create()
    assert (raised.value.status, raised.value.code) == (401, "unauthorized")
    assert not isinstance(raised.value, GatewayError)


def test_a_bad_token_is_unauthorized_by_the_gateway(stack: LocalServer) -> None:
    with Client(stack.url, token="not-a-jwt") as client, pytest.raises(Unauthorized) as raised:
        list(client.sessions.list())
    assert (raised.value.status, raised.value.message) == (401, "Unauthorized")
    assert raised.value.details is None or "www_authenticate" in raised.value.details


def test_a_limit_out_of_range_is_a_bad_request(client: Client) -> None:
    with pytest.raises(BadRequest) as raised:
        list(client.sessions.list(page_size=0))
    assert (raised.value.status, raised.value.code) == (400, "bad_request")


def test_a_body_against_the_schema_fails_validation_with_field_details(client: Client) -> None:
    session = client.sessions.create()
    with pytest.raises(ValidationFailed) as raised:
        client.messages.append(session.id, role="user", content="   ")
    assert (raised.value.status, raised.value.code) == (422, "validation_error")
    assert isinstance(raised.value.details, list)
    assert any(detail["field"] == "content" for detail in raised.value.details)


def test_a_body_of_another_type_is_an_unsupported_media_type(
    stack: LocalServer, token: str
) -> None:
    plain_text = Client(stack.url, token=token, transport=PlainTextBodies())
    with plain_text as client, pytest.raises(UnsupportedMediaType) as raised:
        client.sessions.create(title="t")
    assert (raised.value.status, raised.value.code) == (415, "unsupported_media_type")


def test_a_message_over_its_size_limit_is_too_large(client: Client) -> None:
    session = client.sessions.create()
    with pytest.raises(PayloadTooLarge) as raised:
        client.messages.append(session.id, role="user", content="x" * 70_000)
    assert (raised.value.status, raised.value.code) == (413, "payload_too_large")


def test_a_write_to_an_ended_session_is_refused(client: Client) -> None:
    session = client.sessions.create()
    client.sessions.end(session.id)
    with pytest.raises(SessionNotActive) as raised:
        client.messages.append(session.id, role="user", content="hi")
    assert (raised.value.status, raised.value.code) == (409, "session_not_active")


def test_a_stale_if_match_is_a_version_conflict_naming_the_current_version(
    client: Client,
) -> None:
    session = client.sessions.create()
    client.workflow.put(session.id, {"name": "a"})
    client.workflow.put(session.id, {"name": "b"})
    with pytest.raises(VersionConflict) as raised:
        client.workflow.merge_patch(session.id, {"name": "c"}, if_match=1)
    assert (raised.value.status, raised.value.code) == (412, "version_conflict")
    assert raised.value.current_version == 2
    with pytest.raises(VersionConflict):
        client.turns.create(
            session.id, messages=[{"role": "user", "content": "x"}], expected_version=0
        )


def test_too_many_messages_exceed_the_sessions_limit(client: Client) -> None:
    # Given a session filled to the stack's message limit, ten messages per turn
    session = client.sessions.create()
    for turn in range(MAX_MESSAGES_PER_SESSION // 10):
        messages = [{"role": "user", "content": f"{turn}-{n}"} for n in range(10)]
        client.turns.create(session.id, messages=messages)

    # When one more is appended, then the limit is exceeded
    with pytest.raises(LimitExceeded) as raised:
        client.messages.append(session.id, role="user", content="one too many")
    assert (raised.value.status, raised.value.code) == (409, "limit_exceeded")


def test_a_json_patch_whose_test_fails_is_a_failed_patch(client: Client) -> None:
    session = client.sessions.create()
    client.workflow.put(session.id, {"name": "a"})
    with pytest.raises(PatchFailed) as raised:
        client.workflow.json_patch(session.id, [{"op": "test", "path": "/name", "value": "b"}])
    assert (raised.value.status, raised.value.code) == (409, "patch_failed")


def test_a_message_id_reused_for_another_message_is_refused(client: Client) -> None:
    session = client.sessions.create()
    message_id = uuid.uuid4()
    client.messages.append(session.id, role="user", content="first", id=message_id)
    with pytest.raises(IdempotencyKeyReused) as raised:
        client.messages.append(session.id, role="user", content="other", id=message_id)
    assert (raised.value.status, raised.value.code) == (422, "idempotency_key_reused")


def test_an_unknown_route_is_the_gateways_not_found(stack: LocalServer, token: str) -> None:
    elsewhere = Client(f"{stack.url}/no-such-stage", token=token)
    with elsewhere as client, pytest.raises(GatewayError) as raised:
        client.sessions.create()
    assert (raised.value.status, raised.value.message, raised.value.code) == (
        404,
        "Not Found",
        None,
    )
    assert isinstance(raised.value, ChatSessionsError)
    assert not isinstance(raised.value, NotFound)


def test_a_request_too_large_for_a_function_is_refused_by_the_gateway(client: Client) -> None:
    session = client.sessions.create()
    with pytest.raises(GatewayError) as raised:
        client.workflow.put(session.id, {"blob": "x" * 7_000_000})
    assert (raised.value.status, raised.value.message) == (413, "Request Entity Too Large")
