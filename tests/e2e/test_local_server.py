"""The local server over HTTP: the api.md contract through the gateway, the emulators and the
embedded DynamoDB, as `make run` serves it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from local.jwt_auth import short_keys_allowed
from local.processes import free_port
from local.template import schedules
from local.threads import run_together
from local.token import make_token
from tests.helpers.processes import descendants, describe
from tests.helpers.server import ROOT, LocalServer, start_server

pytestmark = pytest.mark.e2e


def create_session(server: LocalServer, **body: Any) -> dict[str, Any]:
    answer = server.request("POST", "/sessions", body)
    assert answer.status == 201, answer.body
    session: dict[str, Any] = answer.json()
    return session


def all_messages(server: LocalServer, session_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "?limit=100" + (f"&cursor={cursor}" if cursor else "")
        answer = server.request("GET", f"/sessions/{session_id}/messages{query}")
        assert answer.status == 200, answer.body
        page = answer.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def run_in_root(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """`command` run in the repository's root, its output captured as text, any status."""
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_module(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m module args...` with this interpreter, as `run_in_root`."""
    return run_in_root([sys.executable, "-m", module, *args], timeout)


def test_create_append_and_list(server: LocalServer) -> None:
    answer = server.request("POST", "/sessions", {"title": "Nightly ETL", "metadata": {"k": "v"}})
    assert answer.status == 201, answer.body
    session = answer.json()
    assert answer.headers["Location"] == f"/sessions/{session['id']}"
    assert session["status"] == "active" and session["message_count"] == 0

    answer = server.request(
        "POST",
        f"/sessions/{session['id']}/messages",
        {"role": "user", "content": "Load orders into the warehouse"},
    )
    assert answer.status == 201, answer.body
    message = answer.json()
    assert message["seq"] == 1 and message["role"] == "user"

    answer = server.request("GET", f"/sessions/{session['id']}/messages")
    assert answer.status == 200, answer.body
    page = answer.json()
    assert [item["id"] for item in page["items"]] == [message["id"]]
    assert page["items"][0]["content"] == "Load orders into the warehouse"
    assert page["next_cursor"] is None


def test_non_text_bodies_arrive_base64_encoded(server: LocalServer) -> None:
    # HTTP API base64-encodes application/merge-patch+json: the function must decode it.
    session = create_session(server)
    answer = server.request(
        "PATCH",
        f"/sessions/{session['id']}/workflow",
        raw=json.dumps({"name": "etl", "steps": {"load": {"batch": 100}}}).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert answer.status == 200, answer.body
    assert answer.headers["ETag"] == '"1"'


def test_no_token_is_401(server: LocalServer) -> None:
    answer = server.request("GET", "/sessions", token=None)
    assert answer.status == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    # The server's line for it, written just after the answer, says why in plain words.
    deadline = time.monotonic() + 10
    while not re.search(r"GET /sessions 401 \d+ ms - \(no token\)", server.log()):
        assert time.monotonic() < deadline, server.log()[-2000:]
        time.sleep(0.05)


def test_expired_token_is_401(server: LocalServer) -> None:
    expired = make_token("alice", exp=int(time.time()) - 1)
    answer = server.request("GET", "/sessions", token=expired)
    assert answer.status == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token has expired"'
    )


def test_token_with_another_secret_is_401(server: LocalServer) -> None:
    answer = server.request("GET", "/sessions", token=make_token("alice", secret="not-the-one"))
    assert answer.status == 401
    assert answer.json() == {"message": "Unauthorized"}
    challenge = answer.headers["WWW-Authenticate"]
    assert 'error_description="the token has an invalid signature"' in challenge


def test_token_without_sub_is_401(server: LocalServer) -> None:
    import jwt

    with short_keys_allowed():
        token = jwt.encode({"exp": int(time.time()) + 60}, "local-dev-secret", "HS256")
    answer = server.request("GET", "/sessions", token=token)
    assert answer.status == 401


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("PUT", "/sessions")])
def test_unknown_route_is_404(server: LocalServer, method: str, path: str) -> None:
    answer = server.request(method, path, token=None)
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


def test_missing_session_is_404(server: LocalServer) -> None:
    answer = server.request("GET", f"/sessions/{uuid.uuid4()}")
    assert answer.status == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_another_callers_session_is_404(server: LocalServer) -> None:
    session = create_session(server)
    answer = server.request("GET", f"/sessions/{session['id']}", token=make_token("mallory"))
    assert answer.status == 404


def test_openapi_needs_no_token(server: LocalServer) -> None:
    answer = server.request("GET", "/openapi.json", token=None)
    assert answer.status == 200
    assert answer.json()["openapi"].startswith("3.")


def test_eight_concurrent_clients_lose_nothing(server: LocalServer) -> None:
    session = create_session(server, title="contended")
    clients, per_client = 8, 25
    sent: dict[str, str] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        for index in range(per_client):
            message_id = str(uuid.uuid4())
            content = f"client {number} message {index}"
            answer = server.request(
                "POST",
                f"/sessions/{session['id']}/messages",
                {"id": message_id, "role": "user", "content": content},
            )
            with lock:
                if answer.status == 201:
                    sent[message_id] = content
                else:
                    failures.append(f"{answer.status} {answer.body!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:5]

    stored = all_messages(server, session["id"])
    assert [message["seq"] for message in stored] == list(range(1, clients * per_client + 1))
    assert {message["id"]: message["content"] for message in stored} == sent
    # At most LOCAL_CONCURRENCY (2) emulators serve a function: so at most two cold starts.
    cold_starts = re.findall(r" \d+ ms MessagesFunction cold", server.log())
    assert 1 <= len(cold_starts) <= 2, cold_starts


def test_make_invoke_prints_the_response(server: LocalServer) -> None:
    done = run_module(
        "local.invoke",
        "SessionsFunction",
        "events/sessions_list.json",
        "--dynamodb-port",
        str(server.dynamodb_port),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["items"] is not None
    assert re.search(r"init duration [0-9.]+ ms, invoke duration [0-9.]+ ms", done.stderr)
    assert "against the local DynamoDB" in done.stderr


@pytest.mark.skipif(not schedules(), reason="the template has no scheduled function yet")
def test_scheduled_functions_run(server: LocalServer) -> None:
    deadline = time.monotonic() + 30
    pattern = re.compile(r"schedule (\w+) \d+ ms (cold|warm)\S* .*-> (\{.*\})")
    while time.monotonic() < deadline:
        runs = pattern.findall(server.log())
        if runs:
            function, _, result = runs[0]
            assert function in schedules()
            assert set(json.loads(result)) >= {"expired", "deleted"}
            return
        time.sleep(0.2)
    pytest.fail(f"no scheduled run logged within 30 s:\n{server.log()[-3000:]}")


def test_readme_walkthrough(server: LocalServer, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    found = re.search(
        r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", readme, re.S
    )
    assert found is not None, "README.md has no ```bash block between the walkthrough markers"
    assert "/tmp" not in found.group(1), "the walkthrough writes to a fixed path in /tmp"
    script = found.group(1).replace("127.0.0.1:3000", f"127.0.0.1:{server.port}")
    done = run_in_root(["bash", "-euo", "pipefail", "-c", script], timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    appended = re.findall(r'"content":\s*"([^"]+)"', script)
    assert appended, "the walkthrough appends no message"
    assert appended[-1] in done.stdout, done.stdout


def test_port_taken_is_a_clear_error(server: LocalServer) -> None:
    done = run_module(
        "local.server", "--port", str(server.port), "--dynamodb-port", str(free_port()), timeout=60
    )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{server.port} for the API: address already in use" in (
        done.stderr
    )


def test_missing_build_output_is_a_clear_error(tmp_path: Path) -> None:
    done = run_module(
        "local.server", "--port", str(free_port()), "--build-dir", str(tmp_path), timeout=60
    )
    assert done.returncode == 2
    assert "Run `make build`" in done.stderr


def test_sigint_stops_every_process(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server.log", {"LOCAL_FUNCTION_LOGS": "0"})
    try:
        # Two emulators of one function (concurrent requests) and one of another.
        results: list[int] = []
        run_together(lambda _: results.append(server.request("GET", "/sessions").status), 2)
        results.append(server.request("GET", "/openapi.json", token=None).status)
        results.append(server.request("GET", f"/sessions/{uuid.uuid4()}/messages").status)
        assert results == [200, 200, 200, 404]
        running = describe(sorted(descendants(server.process.pid)))
        runtimes = re.findall(r"^\d+: \S+/\.venv-lambda/bin/python -m awslambdaric", running, re.M)
        assert len(runtimes) == 3, running
        assert "-m local.dynamodb" in running
    finally:
        left = server.stop()
    assert server.process.returncode == 0, server.log()
    assert not left, describe(left)


def test_a_json_body_that_is_not_utf8_is_a_bad_request(server: LocalServer) -> None:
    answer = server.request(
        "POST",
        "/sessions",
        raw=b'{"title": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 400, answer.body
    assert answer.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("method", ["TRACE", "FOO"])
def test_a_method_no_route_takes_is_the_gateways_404(server: LocalServer, method: str) -> None:
    answer = server.request(method, "/sessions")
    assert (answer.status, answer.json()) == (404, {"message": "Not Found"})
