"""`make fuzz`: run a command (schemathesis) against a fresh strict local stack.

    python -m local.fuzz -- st run '{url}/openapi.json' -H 'Authorization: Bearer {token}'

Starts `local.server` on free ports without the developer's settings
(`local.launch.launch_clean`), puts the server's URL and a token of the caller `fuzzer` where
`{url}` and `{token}` stand in the command (the token also in the environment as FUZZ_TOKEN),
runs it, stops the server and exits with the command's status. The server's log is kept only
when it failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from local.lambda_spec import DEFAULT_TABLE_NAME
from local.launch import end_run, launch_clean
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
    try:
        server = launch_clean(log_dir, SETTINGS)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        token = make_token("fuzzer")
        command = [a.replace("{url}", server.url).replace("{token}", token) for a in args]
        env = {**os.environ, "FUZZ_TOKEN": token}
        code = subprocess.run(command, env=env, check=False).returncode
    finally:
        server.stop()
    end_run(log_dir, code != 0, {"server log": server.log_path})
    return code


if __name__ == "__main__":
    sys.exit(main())
