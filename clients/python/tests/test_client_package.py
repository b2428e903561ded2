"""`pip install ./clients/python` in a clean virtual environment: it installs with httpx and
pydantic only, and the installed client talks to the stack; the adapters say which extra
they need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.server import LocalServer

PACKAGE = Path(__file__).resolve().parents[1]

# Run by the clean environment's interpreter: the installed metadata, a session through the
# stack, and what importing an adapter without its extra says.
CHECK = """
import json, sys
from importlib import metadata
from chat_sessions_client import Client, __version__
url, token = sys.argv[1:3]
with Client(url, token=token) as client:
    session = client.sessions.create(title="from a clean venv")
errors = []
for adapter in ("langchain", "agents"):
    try:
        __import__(f"chat_sessions_client.{adapter}")
    except ImportError as error:
        errors.append(str(error))
print(json.dumps({
    "version": __version__,
    "requires": metadata.requires("chat-sessions-client"),
    "installed": sorted(d.metadata["Name"].lower() for d in metadata.distributions()),
    "title": session.title,
    "errors": errors,
}))
"""


def test_the_package_installs_in_a_clean_venv_and_works(
    tmp_path: Path, stack: LocalServer, token: str
) -> None:
    # Given a fresh virtual environment
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")

    # When the package is installed from its folder
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*install, str(PACKAGE)], check=True, capture_output=True)

    # Then it brought httpx and pydantic only, and works against the stack
    found = subprocess.run(
        [python, "-c", CHECK, stack.url, token], check=True, capture_output=True, text=True
    )
    report = json.loads(found.stdout)
    plain = [r for r in report["requires"] if "extra ==" not in r]
    assert sorted(r.split(">")[0].split("<")[0] for r in plain) == ["httpx", "pydantic"]
    assert (
        "langchain-core" not in report["installed"] and "openai-agents" not in report["installed"]
    )
    assert report["title"] == "from a clean venv"
    assert report["errors"] == [
        "chat_sessions_client.langchain needs langchain-core: "
        "pip install 'chat-sessions-client[langchain]'",
        "chat_sessions_client.agents needs the OpenAI Agents SDK: "
        "pip install 'chat-sessions-client[agents]'",
    ]
