"""The interpreter the local Lambda functions run in: what Lambda's Python runtime has, no more.

Lambda's python3.11 runtime offers boto3 (and what it pulls in) beside the runtime interface
client; everything else must come from the function's folder or a layer. The development
virtualenv has far more (pydantic, moto, PyYAML, ...), and so has the base interpreter here,
so functions run from a separate virtualenv, `.venv-lambda/`, holding only boto3 and
awslambdaric. A dependency missing from the layer then fails locally as it does in AWS.

    python -m local.runtime_env      # create or check it; prints the interpreter's path

`ensure_runtime_env()` creates it on first use (a few seconds; needs the package registry)
and returns at once after that.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_ENV = ROOT / ".venv-lambda"
CONSTRAINTS = ROOT / "constraints.txt"
# What the managed python3.11 runtime provides to function code (pinned like the rest).
PACKAGES = ("boto3==1.43.108", "awslambdaric==4.2.2")
STAMP_NAME = ".installed"
# Importable in the development environment or the base interpreter, never in Lambda's runtime.
MUST_NOT_IMPORT = ("pydantic", "aws_lambda_powertools", "moto", "yaml", "jwt", "pytest")
MUST_IMPORT = ("boto3", "awslambdaric")


class RuntimeEnvError(RuntimeError):
    """The runtime virtualenv could not be created or is not isolated."""


def python_path(env: Path = RUNTIME_ENV) -> Path:
    return env / "bin" / "python"


def _fingerprint() -> str:
    """Changes whenever what the environment should contain changes."""
    digest = hashlib.sha256()
    digest.update("\n".join(PACKAGES).encode())
    digest.update(CONSTRAINTS.read_bytes() if CONSTRAINTS.exists() else b"")
    digest.update(sys.version.encode())
    digest.update(str(Path(sys.base_prefix).resolve()).encode())
    return digest.hexdigest()


def _is_current(env: Path, fingerprint: str) -> bool:
    stamp = env / STAMP_NAME
    return python_path(env).exists() and stamp.exists() and stamp.read_text() == fingerprint


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialises set-up between processes (a test run may start several at once)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise RuntimeEnvError(f"{what} failed (exit {done.returncode}):\n{output}")


def check_isolation(python: Path) -> None:
    """Fail unless `python` imports boto3 and awslambdaric but nothing Lambda lacks."""
    script = (
        "import importlib.util, json, sys;"
        f"print(json.dumps({{m: importlib.util.find_spec(m) is not None "
        f"for m in {list(MUST_IMPORT + MUST_NOT_IMPORT)!r}}}))"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONNOUSERSITE": "1"}
    done = subprocess.run(
        [str(python), "-I", "-c", script], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeEnvError(f"{python} does not run: {done.stderr.strip()}")
    found: dict[str, bool] = json.loads(done.stdout)
    missing = [name for name in MUST_IMPORT if not found[name]]
    leaked = [name for name in MUST_NOT_IMPORT if found[name]]
    if missing or leaked:
        raise RuntimeEnvError(
            f"{python} is not a Lambda-like runtime: missing {missing or 'nothing'}, "
            f"but can import {leaked or 'nothing'} (are global site-packages visible?)"
        )


def ensure_runtime_env(
    env: Path = RUNTIME_ENV, *, announce: Callable[[str], None] | None = None
) -> Path:
    """Create `env` with boto3 and awslambdaric if it is missing or stale; return its python."""
    fingerprint = _fingerprint()
    if _is_current(env, fingerprint):
        return python_path(env)
    env.parent.mkdir(parents=True, exist_ok=True)
    with _locked(env.parent):
        if _is_current(env, fingerprint):
            return python_path(env)
        if announce is not None:
            shown = env.relative_to(ROOT) if env.is_relative_to(ROOT) else env
            announce(f"setting up the functions' Python runtime in {shown} (first run only)")
        shutil.rmtree(env, ignore_errors=True)
        try:
            # A plain venv: no system site-packages, so the base interpreter's packages stay out.
            _run([sys.executable, "-m", "venv", str(env)], "python -m venv")
            install = [str(python_path(env)), "-m", "pip", "install", "--quiet"]
            install += ["--disable-pip-version-check", *PACKAGES]
            if CONSTRAINTS.exists():
                install += ["-c", str(CONSTRAINTS)]
            _run(install, "pip install " + " ".join(PACKAGES))
            check_isolation(python_path(env))
        except BaseException:
            shutil.rmtree(env, ignore_errors=True)
            raise
        (env / STAMP_NAME).write_text(fingerprint)
    return python_path(env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.runtime_env",
        description="Create (once) the virtualenv the local Lambda functions run in.",
    )
    parser.add_argument("--path", type=Path, default=RUNTIME_ENV, help="where (.venv-lambda)")
    args = parser.parse_args(argv)
    try:
        python = ensure_runtime_env(
            args.path, announce=lambda text: print(text, file=sys.stderr, flush=True)
        )
    except RuntimeEnvError as error:
        print(f"local.runtime_env: {error}", file=sys.stderr)
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
