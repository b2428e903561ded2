"""`sam build` output: each function has its handler, the layer holds the package and its
dependencies (what Lambda will import from /opt/python)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from local.template import functions

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"


def ensure_built() -> None:
    wanted = [BUILD / "SharedLayer" / "python", *(BUILD / name for name in functions())]
    if not all(folder.is_dir() for folder in wanted):
        sam = Path(sys.executable).with_name("sam")
        subprocess.run([str(sam), "build", "--cached"], cwd=ROOT, check=True, capture_output=True)


def test_the_layer_holds_the_package_and_its_dependencies() -> None:
    ensure_built()
    layer = BUILD / "SharedLayer" / "python"
    for name in (
        "chat_sessions",
        "aws_lambda_powertools",
        "pydantic",
        "pydantic_core",
        "jsonpatch",
    ):
        assert (layer / name).is_dir() or (layer / f"{name}.py").is_file(), name
    assert (layer / "chat_sessions" / "openapi.json").is_file()


def test_every_function_is_built_with_its_handler_only() -> None:
    ensure_built()
    for name in functions():
        folder = BUILD / name
        assert (folder / "app.py").is_file(), name
        assert not (folder / "chat_sessions").exists(), f"{name} bundles the layer's package"
