"""`python -m local.hostile` whole: every hostile input answered as documented, nothing written."""

from __future__ import annotations

import os
from typing import Any

import pytest

from local import hostile, hostile_runner
from tests.helpers.processes import descendants, describe, still_alive
from tests.helpers.server import ensure_build

pytestmark = pytest.mark.e2e


def test_every_hostile_input_gets_its_documented_answer_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the built functions and whatever processes this test run already has
    ensure_build()
    before = descendants(os.getpid())

    # When the hostile runner sends every case to its own strict stack
    code = hostile.main([])

    # Then no case breached (status, envelope, no 5xx, no write), and its server is gone
    output = capsys.readouterr().out
    assert code == 0, output
    assert "BREACH" not in output
    assert "5xx: 0; writes: 0; breaches: 0" in output
    assert f"{len(hostile.cases())} hostile requests" in output
    left = [pid for pid in still_alive(descendants(os.getpid())) if pid not in before]
    assert not left, describe(left)


def test_a_case_answered_otherwise_is_a_breach() -> None:
    # Given a case documented as 404 from the function
    case = hostile.Case("missing", "GET", "/sessions/{other}", 404)

    # Then another status, a 5xx, or API Gateway's body in its place are each a breach
    assert hostile.judge(case, 404, b'{"error": {"code": "not_found", "message": "m"}}') == []
    assert hostile.judge(case, 200, b"{}")
    assert any("a 500" in b for b in hostile.judge(case, 500, b'{"message": "x"}'))
    assert hostile.judge(case, 404, b'{"message": "Not Found"}')
    assert hostile.judge(case, 404, b'{"error": {"code": "bad_request", "message": "m"}}')


def test_the_documented_code_and_replay_marker_are_part_of_the_answer() -> None:
    # Given a 409 case that names its code, and a replay documented as a 200
    conflict = hostile.Case("rewind", "POST", "/sessions/{s}/rewind", 409, code="limit_exceeded")
    replay = hostile.Case("again", "PUT", "/sessions/{s}/summary", 200, replayed=True)

    # Then another 409 code is a breach, and so is a replay's answer without its marker
    other = b'{"error": {"code": "session_not_active", "message": "m"}}'
    assert hostile.judge(conflict, 409, other) == [
        "code session_not_active, documented limit_exceeded"
    ]
    assert hostile.judge(replay, 200, b"{}", {"idempotent-replayed": "true"}) == []
    assert hostile.judge(replay, 200, b"{}", {}) == ["not marked Idempotent-Replayed: true"]
    with pytest.raises(ValueError, match="must name its code"):
        hostile.Case("no code", "POST", "/sessions", 409)


class _Stack(hostile_runner.Client, hostile_runner.TableState):
    """A stand-in for the stack and its table (a count of rows): every answer a 400; the case
    whose path is `writer` writes a row the first time it is sent on a table of `first`
    rows."""

    def __init__(self, writer: str, first: int) -> None:
        hostile_runner.Client.__init__(self, 0, {"alice": "t"})
        self.writer, self.first = writer, first
        self.rows = first

    def send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        self.rows += path == self.writer and self.rows == self.first
        return 400, {}, b'{"error": {"code": "bad_request", "message": "m"}}'

    def read(self) -> Any:
        return self.rows

    def restore(self, state: Any) -> None:
        self.rows = state


def test_a_write_is_pinned_on_the_case_that_made_it() -> None:
    # Given 25 cases sent in batches between reads of the table, one of which writes once
    # (as a rewind does: sent again on the table it changed, it removes nothing more)
    cases = [hostile.Case(f"case {i}", "GET", f"/c{i}", 400) for i in range(25)]
    stack = _Stack("/c13", first=3)

    # When they are sent
    results = hostile_runner.send_all(stack, cases, {}, stack)

    # Then that case alone is named (its batch undone and sent again case by case), and
    # every case is judged once, in order
    assert [r.case.name for r in results if r.breaches] == ["case 13"]
    assert results[13].breaches == ["the table changed"]
    assert [r.case for r in results] == cases
