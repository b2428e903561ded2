"""Fixtures of every test: the handlers against moto's DynamoDB (`api`), the environment
they need (`aws_env`) and a way to change their settings (`settings`). The helpers they use
are in tests/helpers/api.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chat_sessions import config
from local.ddb_hooks import install
from local.ddb_strict import StrictSettings, install_strict
from local.template import create_table
from tests.helpers.api import TABLE, TEST_CURSOR_KEY, Api, ChangeSettings, reset_caches


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ChatSessionsTest")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    # The stack generates its own at deploy and `make run` one per run; the tests use this one.
    monkeypatch.setenv(config.CURSOR_KEY_ENV, TEST_CURSOR_KEY)


@pytest.fixture
def api(aws_env: None) -> Iterator[Api]:
    """Handlers against moto's in-process DynamoDB with the template's table, as strict as
    the embedded server (LOCAL_STRICT=0 runs them on stock moto, for comparison)."""
    install_strict(StrictSettings.from_env(), in_process=True)
    with mock_aws():
        reset_caches()
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        yield Api()
    reset_caches()
    install([])  # later tests that want stock moto get it


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChangeSettings]:
    """Change settings for one test: settings(MAX_MESSAGE_BYTES=10)."""

    def change(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        reset_caches()

    yield change
    reset_caches()
