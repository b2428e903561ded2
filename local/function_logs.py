"""How `make run` shows the functions' own log lines: `LOCAL_FUNCTION_LOGS`.

`compact` (the default): each warning or error of a function's logger as one short line
(level, message, its own fields, the exception's last line and the Lambda request id that a
500's `details.request_id` names), the runtime's own error report by its first line, and
nothing else (info lines, metrics). `full` (or `1`): every line as the function wrote it.
`off` (or `0`): none. The gateway's line per request (method, path, status, time, function)
is there whatever the mode.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

from local.emulator import LogSink

ENV = "LOCAL_FUNCTION_LOGS"
COMPACT, FULL, OFF = "compact", "full", "off"
_MODES = {"": COMPACT, COMPACT: COMPACT, FULL: FULL, "1": FULL, OFF: OFF, "0": OFF}
SHOWN_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
MAX_CHARS = 300
MAX_FIELD_CHARS = 120
# The keys Powertools' Logger writes on every line; any other key is the line's own field.
_LOGGER_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "sampling_rate",
        "exception",
        "exception_name",
        "stack_trace",
    }
)
# The runtime client's own lines: `[ERROR] Type: message` (then its traceback, the lines
# joined with CRs: one record, as CloudWatch shows it) or `[LEVEL] <time> <request id> <message>`
# separated by tabs.
_RUNTIME_LINE = re.compile(r"^\[(?P<level>[A-Z]+)\]\s+(?P<rest>.*)$", re.S)
# The runtime's advice after every unhandled exception; the error line itself says what failed.
_RUNTIME_BOILERPLATE = "LAMBDA_WARNING: Unhandled exception."


def mode_from(value: str | None) -> str:
    """The mode a `LOCAL_FUNCTION_LOGS` value names; ValueError for any other value."""
    try:
        return _MODES[(value or "").strip().lower()]
    except KeyError:
        raise ValueError(
            f"{ENV} must be compact (the default), full (or 1) or off (or 0), not {value!r}"
        ) from None


def described(mode: str) -> str:
    """The server's line saying what it shows of the functions' logs, and how to change it."""
    if mode == COMPACT:
        return f"function logs: warnings and errors, one line each ({ENV}=full for every line)"
    if mode == FULL:
        return f"function logs: every line ({ENV}=compact for warnings and errors only)"
    return f"function logs: off ({ENV}=compact or full to see them)"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return _short(text, MAX_FIELD_CHARS)


def _logger_line(record: dict[str, Any]) -> str | None:
    level = str(record.get("level", "")).upper()
    if level not in SHOWN_LEVELS:
        return None
    text = f"{level} {record.get('message', '')}"
    exception = record.get("exception")
    if isinstance(exception, str) and exception.strip():
        text += f": {exception.strip().splitlines()[-1].strip()}"
    own = [f"{key}={_field(value)}" for key, value in record.items() if key not in _LOGGER_KEYS]
    if own:
        text += " " + " ".join(own)
    request_id = record.get("function_request_id")
    if request_id:
        text += f" (request {request_id})"
    return text


def _runtime_line(line: str) -> str | None:
    first = line.split("\r", 1)[0]
    found = _RUNTIME_LINE.match(first)
    if found is None:
        return first  # not the runtime's: a line the function printed, shown as it is
    level, rest = found.group("level"), found.group("rest")
    message = rest.split("\t")[-1].strip()
    if level not in SHOWN_LEVELS or message.startswith(_RUNTIME_BOILERPLATE):
        return None
    return f"{level} {message}"


def compact_line(line: str) -> str | None:
    """One function log line as the compact mode shows it, or None when it is not shown."""
    try:
        record = json.loads(line)
    except ValueError:
        text = _runtime_line(line)
    else:
        if not isinstance(record, dict):
            return None
        text = _logger_line(record)  # a line without a level (a metric) is not shown
    return None if text is None else _short(text, MAX_CHARS)


def full_line(line: str) -> str:
    """The line as the function wrote it; a traceback the runtime joined with CRs, unfolded."""
    return line.replace("\r", "\n    ")


def terminal_sink(mode: str, stream: TextIO | None = None) -> LogSink | None:
    """The emulators' log sink for `mode`: lines to `stream` (stderr) as `  [Function] line`."""
    if mode == OFF:
        return None
    shape = compact_line if mode == COMPACT else full_line

    def write(function: str, line: str) -> None:
        text = shape(line)
        if text is not None:
            out = stream if stream is not None else sys.stderr
            out.write(f"  [{function}] {text}\n")
            out.flush()

    return write
