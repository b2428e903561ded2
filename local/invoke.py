"""`make invoke`: run one function once, from the `sam build` output, through the emulator.

    python -m local.invoke SessionsFunction events/sessions_list.json [--dynamodb-port 8000]

Uses the local DynamoDB on that port if one answers (a running `make run`), else starts an
embedded one with the table for this run. Prints the function's response (JSON) on stdout and
the emulator's figures (init and invoke durations) on stderr; exits 1 if the function failed.
The function runs within Lambda's limits (its Timeout and MemorySize, the 6 MB payloads, the
10 s init) unless `LOCAL_STRICT=0`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from local.emulator import EmulatorError
from local.lambda_limits import Limits, strict_from_env
from local.lambda_spec import DEFAULT_TABLE_NAME, RuntimeSetupError, function_specs
from local.run_secrets import with_run_secrets
from local.runtime import LocalRuntime
from local.runtime_env import RuntimeEnvError, ensure_runtime_env
from local.server import BUILD_DIR, EXIT_SETUP, create_table

EXIT_FUNCTION_ERROR = 1


def _dynamodb_answers(url: str) -> bool:
    """Whether a DynamoDB endpoint answers at `url` (quickly, without retries)."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from local.dynamodb import local_client

    client = local_client(
        url, Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
    )
    try:
        client.list_tables(Limit=1)
    except (BotoCoreError, ClientError):
        return False
    return True


def _print_function_log(function: str, line: str) -> None:
    print(f"  [{function}] {line}", file=sys.stderr, flush=True)


def run(function: str, event_path: Path, dynamodb_port: int, build_dir: Path) -> int:
    from local.dynamodb import start_dynamodb

    try:
        event: Any = json.loads(event_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"local.invoke: cannot read the event {event_path}: {error}", file=sys.stderr)
        return EXIT_SETUP
    table_name = os.environ.get("TABLE_NAME") or DEFAULT_TABLE_NAME
    try:
        # Secrets the stack generates at deploy (the cursor key) are new for each run.
        specs = with_run_secrets(function_specs(build_dir, table_name=table_name))
        if function not in specs:
            known = ", ".join(sorted(specs))
            print(
                f"local.invoke: no function {function!r} (the template has {known})",
                file=sys.stderr,
            )
            return EXIT_SETUP
        python = ensure_runtime_env(announce=lambda text: print(text, file=sys.stderr, flush=True))
    except (RuntimeSetupError, RuntimeEnvError) as error:
        print(f"local.invoke: {error}", file=sys.stderr)
        return EXIT_SETUP

    with contextlib.ExitStack() as stack:
        url = f"http://127.0.0.1:{dynamodb_port}"
        if _dynamodb_answers(url):
            where = f"the local DynamoDB at {url}"
        else:
            embedded = start_dynamodb()
            stack.callback(embedded.stop)
            url = embedded.url
            where = f"an embedded DynamoDB for this run ({url})"
        create_table(url, table_name)
        runtime = LocalRuntime(
            {function: specs[function]},
            python,
            dynamodb_url=url,
            concurrency=1,
            log_sink=_print_function_log,
            limits=Limits(strict=strict_from_env()),
        )
        stack.callback(runtime.close)
        print(f"invoking {function} with {event_path} against {where}", file=sys.stderr)
        try:
            result = runtime.invoke(function, event)
        except EmulatorError as error:
            print(f"local.invoke: {error}", file=sys.stderr)
            return EXIT_FUNCTION_ERROR
    try:
        print(json.dumps(json.loads(result.payload), indent=2))
    except ValueError:
        print(result.payload.decode("utf-8", "replace"))
    init = f"{result.init_ms:.1f} ms" if result.init_ms is not None else "none (warm)"
    duration = f"{result.duration_ms:.1f} ms" if result.duration_ms is not None else "n/a"
    print(
        f"{function}: init duration {init}, invoke duration {duration}, "
        f"round trip {result.wall_ms:.0f} ms"
        + (", init retried after Lambda's 10 s" if result.init_retried else "")
        + (f", error {result.error_type}" if result.failed else ""),
        file=sys.stderr,
    )
    return EXIT_FUNCTION_ERROR if result.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke",
        description="Run one function of the template once through the Lambda emulator.",
    )
    parser.add_argument("function", help="the function's logical id, e.g. SessionsFunction")
    parser.add_argument("event", type=Path, help="the event file, e.g. events/sessions_list.json")
    parser.add_argument(
        "--dynamodb-port",
        type=int,
        default=8000,
        help="use the local DynamoDB on this port if one answers (8000)",
    )
    parser.add_argument(
        "--build-dir", type=Path, default=BUILD_DIR, help="sam build output (.aws-sam/build)"
    )
    args = parser.parse_args(argv)
    return run(args.function, args.event, args.dynamodb_port, args.build_dir)


if __name__ == "__main__":
    sys.exit(main())
