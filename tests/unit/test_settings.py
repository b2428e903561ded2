"""Settings are bounded (api.md) and checked when a function starts: a bad one stops the
function at init with one clear log line, instead of failing requests one by one."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from chat_sessions import config
from tests.helpers.api import TEST_CURSOR_KEY, load_function, reset_caches

BOUNDS = [
    ("MAX_MESSAGE_BYTES", 262144),
    ("MAX_METADATA_BYTES", 65536),
    ("MAX_WORKFLOW_BYTES", 262144),
    ("WRITE_RETRY_SECONDS", 600),
]
API_FUNCTIONS = ["sessions", "messages", "workflow"]


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, _ in BOUNDS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.CURSOR_KEY_ENV, TEST_CURSOR_KEY)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reset_caches()
    yield
    reset_caches()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(("name", "bound"), BOUNDS)
def test_a_setting_at_its_bound_is_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, bound: int
) -> None:
    monkeypatch.setenv(name, str(bound))
    settings = config.check_at_init(needs_cursor_key=True)
    assert settings.model_dump(by_alias=True)[name] == bound


@pytest.mark.parametrize(("name", "bound"), BOUNDS)
def test_a_setting_past_its_bound_stops_the_start_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, name: str, bound: int
) -> None:
    monkeypatch.setenv(name, str(bound + 1))
    with pytest.raises(config.SettingsError) as raised:
        config.check_at_init(needs_cursor_key=False)
    (line,) = errors_logged(caplog)
    assert name in line and f"at most {bound}" in line
    assert name in str(raised.value)


@pytest.mark.parametrize("function", [*API_FUNCTIONS, "transfers", "cleanup"])
def test_a_function_with_a_bad_setting_fails_its_init(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, function: str
) -> None:
    monkeypatch.setenv("MAX_METADATA_BYTES", "1000000")
    with pytest.raises(config.SettingsError, match="MAX_METADATA_BYTES"):
        load_function(function)
    (line,) = errors_logged(caplog)
    assert "MAX_METADATA_BYTES='1000000'" in line and "at most 65536" in line


@pytest.mark.parametrize(
    "key", ["", "k3y-too-sh0rt", "{{resolve:secretsmanager:CursorKey:SecretString}}"]
)
@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_an_api_function_without_a_usable_cursor_key_fails_its_init(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, function: str, key: str
) -> None:
    monkeypatch.setenv(config.CURSOR_KEY_ENV, key)
    with pytest.raises(config.SettingsError, match=config.CURSOR_KEY_ENV):
        load_function(function)
    (line,) = errors_logged(caplog)
    assert config.CURSOR_KEY_ENV in line
    assert key == "" or key not in line  # the key itself is never logged


@pytest.mark.parametrize("function", ["cleanup", "transfers"])
def test_a_function_that_issues_no_cursors_needs_no_cursor_key(
    monkeypatch: pytest.MonkeyPatch, function: str
) -> None:
    monkeypatch.delenv(config.CURSOR_KEY_ENV)
    assert callable(load_function(function).lambda_handler)


def test_settings_are_read_once() -> None:
    first = config.check_at_init(needs_cursor_key=True)
    assert config.get_settings() is first
