"""`python -m local.hostile` whole: every hostile input answered as documented, nothing written."""

from __future__ import annotations

import os

import pytest

from local import hostile
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
