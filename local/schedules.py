"""Scheduled functions, run locally as EventBridge would run them: on their rate(), one run
at a time, the first one interval after start. Split out of `local.server`."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import template as tpl
from local.emulator import EmulatorError, InvokeResult
from local.lambda_spec import DEFAULT_TABLE_NAME
from local.template import ACCOUNT_ID, REGION, Resolver, TemplateError

LOG = logging.getLogger("local.server")
INTERVAL_ENV = "SESSION_CLEANUP_INTERVAL_MINUTES"
_RATE = re.compile(r"^rate\(\s*([0-9]+(?:\.[0-9]+)?)\s+(minutes?|hours?|days?)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class SetupError(Exception):
    """Something the user must fix before the server can start; the message says what."""


# --- schedules -----------------------------------------------------------------------------


def resolve_expression(expression: Any, template: Mapping[str, Any]) -> str:
    """A schedule expression with its intrinsics (!Sub, !Ref, !If) resolved with the defaults."""
    try:
        resolved = Resolver(template, DEFAULT_TABLE_NAME).value(expression)
    except TemplateError as error:
        raise SetupError(
            f"cannot resolve the schedule expression {expression!r}: {error}"
        ) from error
    if not resolved:
        raise SetupError(f"cannot resolve the schedule expression {expression!r}")
    return resolved


def interval_seconds(expression: str, override_minutes: str | None) -> float:
    """Seconds between runs: the override (minutes, decimals allowed) or the rate()."""
    if override_minutes is not None and override_minutes.strip():
        try:
            minutes = float(override_minutes)
        except ValueError:
            minutes = -1.0
        if not minutes > 0:
            raise SetupError(f"{INTERVAL_ENV} must be a positive number, not {override_minutes!r}")
        return minutes * 60
    match = _RATE.match(expression.strip())
    if match is None:
        raise SetupError(
            f"the schedule {expression!r} is not a rate(); locally only rate() runs "
            f"(set {INTERVAL_ENV} to run it at a fixed interval)"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def scheduled_event(function: str) -> dict[str, Any]:
    """An EventBridge Scheduled Event, as the rule would send it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/local-{function}Schedule"],
        "detail": {},
    }


@dataclass(frozen=True)
class Schedule:
    function: str
    expression: str
    seconds: float


class Scheduler:
    """Invokes each scheduled function every `seconds`, one run at a time, until stopped."""

    def __init__(
        self, schedules: list[Schedule], invoke: Callable[[str, dict[str, Any]], InvokeResult]
    ) -> None:
        self._schedules = schedules
        self._invoke = invoke
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._loop, args=(s,), name=f"schedule-{s.function}", daemon=True
            )
            for s in schedules
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self, schedule: Schedule) -> None:
        # Like EventBridge: the first run comes one interval after the rule exists.
        next_run = time.monotonic() + schedule.seconds
        while not self._stop.wait(max(0.0, next_run - time.monotonic())):
            next_run += schedule.seconds
            started = time.perf_counter()
            try:
                result = self._invoke(schedule.function, scheduled_event(schedule.function))
            except EmulatorError as error:
                if not self._stop.is_set():
                    LOG.error("schedule %s failed: %s", schedule.function, error)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            outcome = (
                f"error={result.error_type}"
                if result.failed
                else "-> " + result.payload.decode("utf-8", "replace")[:200]
            )
            LOG.info(
                "schedule %s %.0f ms %s %s",
                schedule.function,
                elapsed,
                result.describe(),
                outcome,
            )
            # A run longer than the interval delays the next one instead of stacking runs.
            next_run = max(next_run, time.monotonic())


def load_schedules(
    environ: Mapping[str, str], template_path: Path = tpl.TEMPLATE
) -> list[Schedule]:
    template = tpl.load_template(template_path)
    found = []
    for function, expression in tpl.schedules(template_path).items():
        resolved = resolve_expression(expression, template)
        found.append(
            Schedule(function, resolved, interval_seconds(resolved, environ.get(INTERVAL_ENV)))
        )
    return found
