"""`make run`: the whole API on one machine, no Docker, no AWS account.

    python -m local.server --port 3000 --dynamodb-port 8000

Starts the embedded DynamoDB (`local.dynamodb`) and creates the table from template.yaml,
then serves the template's HTTP API on 127.0.0.1:PORT: each route's function runs from the
`sam build` output in a pool of Lambda Runtime Interface Emulators (`local.runtime`), behind
a gateway that plays API Gateway's part (`local.gateway`). Scheduled functions run on their
rate. Ctrl-C stops everything it started.

Settings from the environment: TABLE_NAME (ChatSessions), LOCAL_CONCURRENCY (2 emulators per
function), LOCAL_JWT_SECRET/_ISSUER/_AUDIENCE, LOCAL_STRICT (0: lenient limits, for comparison),
SESSION_CLEANUP_INTERVAL_MINUTES (overrides schedules' rates), LOCAL_FUNCTION_LOGS (how the
functions' own lines are shown: `local.function_logs`) and the api.md settings the functions
read (SESSION_*, MAX_*, LOG_LEVEL).

It logs a line before each step that may take a while, then one line per request.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from local import function_logs, jwt_auth
from local import template as tpl
from local.gateway import INTEGRATION_TIMEOUT_S, Gateway
from local.lambda_limits import Limits, strict_from_env
from local.lambda_spec import DEFAULT_TABLE_NAME, RuntimeSetupError, function_specs
from local.processes import port_free
from local.run_secrets import with_run_secrets
from local.runtime import LocalRuntime
from local.runtime_env import RuntimeEnvError, ensure_runtime_env
from local.schedules import INTERVAL_ENV, Scheduler, SetupError, load_schedules

LOG = logging.getLogger("local.server")
BUILD_DIR = tpl.ROOT / ".aws-sam" / "build"
EXIT_SETUP = 2  # the build output is missing, a port is taken, ...
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# --- start-up ------------------------------------------------------------------------------


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SetupError(f"{name} must be a positive integer, not {value!r}")
    return number


def create_table(endpoint: str, table_name: str, template_path: Path = tpl.TEMPLATE) -> None:
    from local.dynamodb import local_client

    client = local_client(endpoint)
    if table_name not in client.list_tables()["TableNames"]:
        tpl.create_table(client, table_name, template_path)


@dataclass
class Settings:
    host: str
    port: int
    dynamodb_port: int
    build_dir: Path
    template: Path
    table_name: str
    concurrency: int
    jwt_secret: str
    function_logs: str  # a mode of local.function_logs
    strict: bool = True


class _Stop(BaseException):
    """Raised in the main thread by the signal handler; a BaseException so nothing eats it."""


def _stop(signum: int, frame: FrameType | None) -> None:
    # Later signals are ignored: shutting down is bounded and must not be cut short.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise _Stop


def serve(settings: Settings) -> int:
    """Start everything, serve until a signal, stop everything; return the exit code."""
    from local.dynamodb import start_dynamodb

    started = time.perf_counter()
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    with contextlib.ExitStack() as stack:
        try:
            try:
                # Secrets the stack generates at deploy (the cursor key) are new for each run.
                specs = with_run_secrets(
                    function_specs(
                        settings.build_dir,
                        table_name=settings.table_name,
                        template_path=settings.template,
                    )
                )
                schedules = load_schedules(os.environ, settings.template)
                routes = tpl.routes(settings.template)
                python = ensure_runtime_env(announce=LOG.info)
            except (RuntimeSetupError, RuntimeEnvError) as error:
                raise SetupError(str(error)) from error
            # Bound before anything starts, so a taken port costs nothing to report.
            try:
                gateway = Gateway(
                    (settings.host, settings.port),
                    routes,
                    jwt_secret=settings.jwt_secret,
                    jwt_issuer=jwt_auth.issuer_from_env(),
                    jwt_audience=jwt_auth.audience_from_env(),
                    integration_timeout=INTEGRATION_TIMEOUT_S if settings.strict else None,
                )
            except OSError as error:
                message = _cannot_listen(settings.host, settings.port, "the API", error)
                raise SetupError(message) from error
            stack.callback(gateway.server_close)
            if not port_free(settings.host, settings.dynamodb_port):
                raise SetupError(
                    _cannot_listen(
                        settings.host,
                        settings.dynamodb_port,
                        "the embedded DynamoDB",
                        OSError(errno.EADDRINUSE, "address already in use"),
                    )
                    + " (another `make run`? set DYNAMODB_PORT)"
                )
            LOG.info(
                "starting the embedded DynamoDB on http://%s:%d (table %s)",
                settings.host,
                settings.dynamodb_port,
                settings.table_name,
            )
            try:
                dynamodb = start_dynamodb(settings.host, settings.dynamodb_port)
            except (RuntimeError, TimeoutError) as error:
                raise SetupError(f"the embedded DynamoDB did not start: {error}") from error
            stack.callback(dynamodb.stop)
            create_table(dynamodb.url, settings.table_name, settings.template)

            LOG.info(
                "starting %d functions from %s (up to %d emulators each, on first use)",
                len(specs),
                _shown(settings.build_dir),
                settings.concurrency,
            )
            runtime = LocalRuntime(
                specs,
                python,
                dynamodb_url=dynamodb.url,
                concurrency=settings.concurrency,
                log_sink=function_logs.terminal_sink(settings.function_logs),
                limits=Limits(strict=settings.strict),
            )
            stack.callback(runtime.close)
            gateway.invoke = runtime.invoke
            thread = threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True)
            thread.start()
            stack.callback(thread.join, 10)
            stack.callback(gateway.shutdown)
            scheduler = Scheduler(schedules, runtime.invoke)
            scheduler.start()
            stack.callback(scheduler.stop)

            LOG.info(
                "serving http://%s:%d (%d routes), ready in %.1f s",
                settings.host,
                settings.port,
                len(routes),
                time.perf_counter() - started,
            )
            override = os.environ.get(INTERVAL_ENV)
            for schedule in schedules:
                LOG.info(
                    "schedule %s every %g s (%s)",
                    schedule.function,
                    schedule.seconds,
                    f"{INTERVAL_ENV}={override}; the template says {schedule.expression}"
                    if override
                    else schedule.expression,
                )
            LOG.info("%s", function_logs.described(settings.function_logs))
            LOG.info("press Ctrl-C to stop")
            while True:
                time.sleep(3600)
        except _Stop:
            LOG.info("stopping")
        except SetupError as error:
            LOG.error("%s", error)
            return EXIT_SETUP
    LOG.info("stopped")
    return 0


def _cannot_listen(host: str, port: int, what: str, error: OSError) -> str:
    reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror
    return f"cannot listen on {host}:{port} for {what}: {reason}"


def _shown(path: Path) -> str:
    """`path` as the developer knows it: relative to the repository when inside it."""
    return str(path.relative_to(tpl.ROOT)) if path.is_relative_to(tpl.ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.server",
        description="Serve the template's HTTP API locally (Lambda emulator, embedded DynamoDB).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="the API's port (3000)")
    parser.add_argument("--dynamodb-port", type=int, default=8000, help="DynamoDB's port (8000)")
    parser.add_argument(
        "--build-dir", type=Path, default=BUILD_DIR, help="sam build output (.aws-sam/build)"
    )
    parser.add_argument(
        "--template", type=Path, default=tpl.TEMPLATE, help="the SAM template (template.yaml)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s.%(msecs)03d %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    try:
        settings = Settings(
            host=args.host,
            port=args.port,
            dynamodb_port=args.dynamodb_port,
            build_dir=args.build_dir,
            template=args.template.resolve(),
            table_name=os.environ.get("TABLE_NAME") or DEFAULT_TABLE_NAME,
            concurrency=_positive_int(
                "LOCAL_CONCURRENCY", os.environ.get("LOCAL_CONCURRENCY") or "2"
            ),
            jwt_secret=jwt_auth.secret_from_env(),
            function_logs=function_logs.mode_from(os.environ.get(function_logs.ENV)),
            strict=strict_from_env(),
        )
    except (SetupError, ValueError) as error:
        LOG.error("%s", error)
        return EXIT_SETUP
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
