"""The end-to-end fixture: one local server (`python -m local.server`, a subprocess) for the
run, driven over HTTP (tests/helpers/server.py). On teardown the server gets SIGINT, as from
Ctrl-C, and every process it started must be gone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.processes import describe
from tests.helpers.server import CLEANUP_INTERVAL_MINUTES, LocalServer, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    log_path = tmp_path_factory.mktemp("local-server") / "server.log"
    running = start_server(log_path, {"SESSION_CLEANUP_INTERVAL_MINUTES": CLEANUP_INTERVAL_MINUTES})
    try:
        yield running
    finally:
        left = running.stop()
        assert not left, f"processes left after SIGINT:\n{describe(left)}"
