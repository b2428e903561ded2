"""What `make run` prints per request and of the functions' own lines: one compact line each by
default (`local.function_logs`, `local.gateway.request_line`), every line with
LOCAL_FUNCTION_LOGS=full, none with off."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from local import function_logs
from local.emulator import InvokeResult
from local.gateway import Answer, request_line
from local.gateway_payload import gateway_error

REQUEST_ID = "e5edea84-fb9b-4e13-94c6-9ce29d96d9d7"
# What Powertools' Logger writes around every message of the functions.
LOGGER_FIELDS = {
    "location": "attempt:89",
    "timestamp": "2026-12-01 08:18:47,696+0000",
    "service": "chat-sessions",
    "cold_start": True,
    "function_name": "SessionsFunction",
    "function_memory_size": "512",
    "function_arn": "arn:aws:lambda:us-east-1:012345678912:function:SessionsFunction",
    "function_request_id": REQUEST_ID,
    "correlation_id": "60e637b1-eb40-4686-82a7-8bd63d37901c",
}


def logged(level: str, message: str, **fields: Any) -> str:
    return json.dumps({"level": level, "message": message, **LOGGER_FIELDS, **fields})


def test_a_request_is_one_short_line() -> None:
    # Given a function's answer to a request (a cold start)
    result = InvokeResult(
        "SessionsFunction", "SessionsFunction#1", 200, b"{}", None, True, 404.2, 3.0, 479.4
    )
    answer = Answer(gateway_error(201, "Created"), result)
    # When the gateway logs it, then one line: method, path, status, time, function, state
    line = request_line("POST", "/sessions", answer, 479.4)
    assert line == "POST /sessions 201 479 ms SessionsFunction cold (init 404 ms)"


def test_a_refused_request_says_why_in_its_line() -> None:
    answer = Answer(gateway_error(401, "Unauthorized"), note="the token has expired")
    assert request_line("GET", "/sessions", answer, 0.3) == (
        "GET /sessions 401 0 ms - (the token has expired)"
    )
    assert request_line("GET", "/nope", Answer(gateway_error(404, "Not Found")), 1) == (
        "GET /nope 404 1 ms -"
    )


@pytest.mark.parametrize(
    "line",
    [
        logged("INFO", "session created", session_id="2fb0f4ce"),
        logged("DEBUG", "read the session"),
        json.dumps({"_aws": {"CloudWatchMetrics": []}, "SessionsCreated": [1.0]}),
        "[WARNING]\t2026-12-01T08:20:31.411Z\t\tLAMBDA_WARNING: Unhandled exception. The most "
        "likely cause is an issue in the function code. However, in rare cases, ...",
        "[INFO]\t2026-12-01T08:20:31.411Z\tabc\tFound credentials in environment variables.",
    ],
    ids=["info", "debug", "metrics", "runtime-advice", "runtime-info"],
)
def test_compact_leaves_out_what_is_not_a_warning_or_an_error(line: str) -> None:
    assert function_logs.compact_line(line) is None


def test_compact_shows_an_error_in_one_line_with_its_request_id() -> None:
    traceback = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'title'"
    line = logged("ERROR", "unhandled error", exception=traceback, exception_name="KeyError")
    assert function_logs.compact_line(line) == (
        f"ERROR unhandled error: KeyError: 'title' (request {REQUEST_ID})"
    )


def test_compact_keeps_a_warnings_own_fields() -> None:
    line = logged("WARNING", "unavailable", reason="DynamoDB throttled", cause="Throttling()")
    assert function_logs.compact_line(line) == (
        f"WARNING unavailable reason=DynamoDB throttled cause=Throttling() (request {REQUEST_ID})"
    )


def test_compact_shows_the_runtimes_error_by_its_first_line() -> None:
    # awslambdaric writes an init failure as one record, its traceback joined with CRs.
    line = (
        "[ERROR] SettingsError: the function cannot start: MAX_MESSAGE_BYTES='300000' is not "
        "allowed: it must be at most 262144\rTraceback (most recent call last):\r\xa0\xa0File "
        '"/var/task/app.py", line 7, in <module>'
    )
    assert function_logs.compact_line(line) == (
        "ERROR SettingsError: the function cannot start: MAX_MESSAGE_BYTES='300000' is not "
        "allowed: it must be at most 262144"
    )


def test_compact_lines_are_short_and_single() -> None:
    line = logged("ERROR", "x" * 5000, detail={"deep": ["y" * 500]})
    shown = function_logs.compact_line(line)
    assert shown is not None
    assert len(shown) <= function_logs.MAX_CHARS
    assert "\n" not in shown and "\r" not in shown


def test_a_printed_line_is_shown_as_it_is() -> None:
    assert function_logs.compact_line("plain text from the function") == (
        "plain text from the function"
    )


def test_full_shows_every_line_and_unfolds_a_traceback() -> None:
    sink = io.StringIO()
    write = function_logs.terminal_sink(function_logs.FULL, sink)
    assert write is not None
    write("SessionsFunction", logged("INFO", "session created"))
    write("SessionsFunction", "[ERROR] Boom: no\rTraceback (most recent call last):")
    lines = sink.getvalue().splitlines()
    assert lines[0].startswith('  [SessionsFunction] {"level": "INFO"')
    assert lines[1:] == [
        "  [SessionsFunction] [ERROR] Boom: no",
        "    Traceback (most recent call last):",
    ]


def test_compact_sink_writes_one_prefixed_line_per_shown_record() -> None:
    sink = io.StringIO()
    write = function_logs.terminal_sink(function_logs.COMPACT, sink)
    assert write is not None
    write("SessionsFunction", logged("INFO", "session created"))
    write("SessionsFunction", logged("ERROR", "unhandled error"))
    assert sink.getvalue() == f"  [SessionsFunction] ERROR unhandled error (request {REQUEST_ID})\n"


def test_off_has_no_sink() -> None:
    assert function_logs.terminal_sink(function_logs.OFF) is None


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (None, "compact"),
        ("", "compact"),
        ("compact", "compact"),
        ("full", "full"),
        ("1", "full"),
        ("FULL", "full"),
        ("off", "off"),
        ("0", "off"),
    ],
)
def test_the_setting_names_a_mode(value: str | None, mode: str) -> None:
    assert function_logs.mode_from(value) == mode


def test_another_setting_is_refused_with_the_values_allowed() -> None:
    with pytest.raises(ValueError, match=r"compact .*full .*off"):
        function_logs.mode_from("verbose")


@pytest.mark.parametrize("mode", [function_logs.COMPACT, function_logs.FULL, function_logs.OFF])
def test_the_servers_line_says_how_to_change_the_mode(mode: str) -> None:
    line = function_logs.described(mode)
    assert line.startswith("function logs: ") and "LOCAL_FUNCTION_LOGS=" in line
