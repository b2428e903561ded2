"""The README's examples run as written against the stack (the LangChain one with a fake chat
model as its `model`; the Agents one needs a real model and is not run here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chat_sessions_client import Client
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from tests.helpers.server import LocalServer

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE_URL = '"http://127.0.0.1:3000"'


def example(heading: str) -> str:
    """The first Python block after this heading, pointed at nothing yet."""
    section = README.read_text().split(f"\n## {heading}\n", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, f"no Python example under {heading!r}"
    return found.group(1)


def test_the_ten_line_example(
    stack: LocalServer,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = example("Ten lines")
    assert len(code.strip().splitlines()) <= 11
    monkeypatch.setenv("TOKEN", token)

    exec(code.replace(EXAMPLE_URL, repr(stack.url)), {})  # noqa: S102

    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [
        "1 user Load orders.csv nightly",
        "2 assistant Here is a first workflow.",
    ]
    assert "'owner': 'data-team'" in printed[2]


@pytest.mark.filterwarnings("ignore:RunnableWithMessageHistory is deprecated")
def test_the_langchain_example(
    stack: LocalServer, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", token)
    model = FakeListChatModel(responses=["A load step.", "A dedupe step."])

    exec(example("LangChain").replace(EXAMPLE_URL, repr(stack.url)), {"model": model})  # noqa: S102

    with Client(stack.url, token=token) as client:
        [session] = client.sessions.list()
        contents = [m.content for m in client.messages.list(session.id)]
    assert contents == [
        "Load orders.csv nightly",
        "A load step.",
        "Add a dedupe step",
        "A dedupe step.",
    ]
