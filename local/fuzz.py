"""`make fuzz`: run a command (schemathesis) against a fresh strict local stack.

    python -m local.fuzz -- st run '{url}/openapi.json' -H 'Authorization: Bearer {token}'

Starts `local.server` on free ports (`local.launch`), puts the server's URL and a token of
the caller `fuzzer` where `{url}` and `{token}` stand in the command (the token also in the
environment as FUZZ_TOKEN), runs it, stops the server and exits with the command's status.
The server's log is kept only when it failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from local.lambda_spec import DEFAULT_TABLE_NAME, overridable
from local.launch import LaunchError, launch
from local.token import make_token

SETTINGS = {"LOCAL_STRICT": "1", "TABLE_NAME": DEFAULT_TABLE_NAME}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m local.fuzz -- COMMAND (with {url} and {token})", file=sys.stderr)
        return 2
    log_dir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    keep = {k: v for k, v in os.environ.items() if not (overridable(k) or k.startswith("LOCAL_"))}
    try:
        server = launch(log_dir / "server.log", {**keep, **SETTINGS})
    except LaunchError as error:
        print(f"{error}:\n{error.log[-3000:]}", file=sys.stderr)
        return 1
    try:
        token = make_token("fuzzer")
        command = [a.replace("{url}", server.url).replace("{token}", token) for a in args]
        env = {**os.environ, "FUZZ_TOKEN": token}
        code = subprocess.run(command, env=env, check=False).returncode
    finally:
        server.stop()
    if code == 0:
        shutil.rmtree(log_dir, ignore_errors=True)
    else:
        print(f"server log: {server.log_path}")
    return code


if __name__ == "__main__":
    sys.exit(main())
