"""`make chaos` in small: about 500 requests with DynamoDB faults, and no invariant breached."""

from __future__ import annotations

import os

import pytest

from local import chaos
from tests.helpers.processes import descendants, describe, still_alive
from tests.helpers.server import ensure_build

pytestmark = pytest.mark.e2e


def test_a_short_chaos_run_breaches_no_invariant(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the built functions and whatever processes this test run already has
    ensure_build()
    before = descendants(os.getpid())

    # When the chaos tool runs its mixed workload against its own strict stack
    code = chaos.main(["--requests", "500", "--clients", "10", "--seed", "7"])

    # Then every invariant held, and the server it started is gone with all its processes
    output = capsys.readouterr().out
    assert code == 0, output
    assert "BREACHED" not in output
    assert "every 201/200 write stored exactly once" in output
    left = [pid for pid in still_alive(descendants(os.getpid())) if pid not in before]
    assert not left, describe(left)
