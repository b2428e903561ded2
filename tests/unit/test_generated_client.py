"""A client generated from the document with openapi-python-client, as a new user would make
one: every schema and operation generated without a warning, and a script that calls every
operation type-checks under mypy --strict.

The generator and mypy run from .venv-openapi-client (`make client-generator`: they pin
packages of their own). The generator's one bug that blocks an operation (PATCH .../workflow
takes two media types, and the generated code tests `isinstance(body, list[...])`, a
TypeError whatever the body) is checked to be there, and the edit README's "Generated clients"
shows is checked to make both bodies work.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from chat_sessions import openapi

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-openapi-client" / "bin"
PACKAGE = "chat_sessions_api"
PATCH_MODULE = Path(PACKAGE, "api", "workflow", "patch_workflow.py")
# README, "Generated clients": the edit that lets PATCH .../workflow send either body.
LIST_CHECK = re.compile(r"isinstance\(\s*body,\s*list\[[^\]]*\]\s*\)")
MYPY_CONFIG = f"""[mypy]
strict = True

# The generator's own template, not made from the document: its context managers pass
# *args: object on to httpx's typed __exit__.
[mypy-{PACKAGE}.client]
ignore_errors = True
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the generated package; PATCH .../workflow's module as generated is
    kept beside it (each test writes the version it needs)."""
    if not (TOOLS / "openapi-python-client").is_file():
        subprocess.run(["make", "client-generator"], cwd=ROOT, check=True, capture_output=True)
    folder = tmp_path_factory.mktemp("generated")
    answer = subprocess.run(
        [
            str(TOOLS / "openapi-python-client"),
            "generate",
            "--path",
            str(openapi.DOCUMENT),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        cwd=folder,
        # Its post-generation hooks run ruff, which its environment holds.
        env={**os.environ, "PATH": f"{TOOLS}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    output = answer.stdout + answer.stderr
    assert "Generating" in output
    for word in ("warning", "unable", "skipping", "error"):
        assert word not in output.lower(), output
    (folder / "patch_workflow.generated").write_text(
        (folder / PATCH_MODULE).read_text(encoding="utf-8"), encoding="utf-8"
    )
    return folder


def _patch_module(folder: Path, edited: bool) -> None:
    text = (folder / "patch_workflow.generated").read_text(encoding="utf-8")
    if edited:
        text = LIST_CHECK.sub("isinstance(body, list)", text)
    (folder / PATCH_MODULE).write_text(text, encoding="utf-8")


# Builds PATCH .../workflow's request with each body, as the generated module does.
PATCH_BOTH = f"""
from uuid import uuid4
from {PACKAGE}.api.workflow import patch_workflow
from {PACKAGE}.models import JsonPatchRemove, JsonPatchRemoveOp, WorkflowMergePatch
merge = patch_workflow._get_kwargs(uuid4(), body=WorkflowMergePatch.from_dict({{"a": None}}))
assert merge["headers"]["Content-Type"] == "application/merge-patch+json", merge
assert merge["json"] == {{"a": None}}, merge
ops = [JsonPatchRemove(op=JsonPatchRemoveOp.REMOVE, path="/a")]
patch = patch_workflow._get_kwargs(uuid4(), body=ops)
assert patch["headers"]["Content-Type"] == "application/json-patch+json", patch
assert patch["json"] == [{{"op": "remove", "path": "/a"}}], patch
"""


def _patch_both(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOOLS / "python"), "-c", PATCH_BOTH], cwd=folder, capture_output=True, text=True
    )


def test_patch_workflow_works_after_the_edit_the_readme_shows(generated: Path) -> None:
    generated_text = (generated / "patch_workflow.generated").read_text(encoding="utf-8")
    assert len(LIST_CHECK.findall(generated_text)) == 1, "the generator changed: update README"
    _patch_module(generated, edited=False)
    unedited = _patch_both(generated)
    assert "isinstance() argument 2 cannot be a parameterized generic" in unedited.stderr
    _patch_module(generated, edited=True)
    edited = _patch_both(generated)
    assert edited.returncode == 0, edited.stderr


def test_a_script_calling_every_generated_operation_type_checks(generated: Path) -> None:
    _patch_module(generated, edited=True)
    operations = {
        path.stem
        for path in (generated / PACKAGE / "api").glob("*/*.py")
        if path.name != "__init__.py"
    }
    document = openapi.build_document()
    assert len(operations) == sum(len(ops) for ops in document["paths"].values())
    uncalled = sorted(name for name in operations if f"{name}.sync" not in SCRIPT)
    assert not uncalled, f"the script calls no {uncalled}"
    (generated / "script.py").write_text(SCRIPT, encoding="utf-8")
    (generated / "mypy.ini").write_text(MYPY_CONFIG, encoding="utf-8")
    checked = subprocess.run(
        [str(TOOLS / "mypy"), "--config-file", "mypy.ini", "script.py", PACKAGE],
        cwd=generated,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# What a user of the generated client writes: every operation, ids and times as UUID and
# datetime from one call to the next, ETag and Idempotent-Replayed read from the answers.
SCRIPT = '''
"""Every operation of the chat session service, through the client openapi-python-client
generated from its OpenAPI document: what mypy --strict must accept as it is."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import TypeVar
from uuid import UUID, uuid4

from chat_sessions_api import AuthenticatedClient, Client
from chat_sessions_api.api.document import get_open_api
from chat_sessions_api.api.messages import (
    append_message,
    list_messages,
    rewind_session,
    take_turn,
)
from chat_sessions_api.api.sessions import (
    create_session,
    delete_all_sessions,
    delete_session,
    end_session,
    export_session,
    fork_session,
    get_session,
    import_session,
    list_sessions,
    patch_session,
)
from chat_sessions_api.api.summary_and_context import get_context, get_summary, put_summary
from chat_sessions_api.api.workflow import (
    diff_versions,
    get_version,
    get_workflow,
    list_versions,
    patch_workflow,
    put_workflow,
    revert_workflow,
)
from chat_sessions_api.models import (
    CreateSessionIn,
    DeleteAllSessionsConfirm,
    ErrorOut,
    ForkIn,
    GatewayErrorOut,
    ImportIn,
    InternalErrorOut,
    JsonPatchAddReplaceTest,
    JsonPatchAddReplaceTestOp,
    JsonPatchMoveCopy,
    JsonPatchMoveCopyOp,
    JsonPatchRemove,
    JsonPatchRemoveOp,
    ListMessagesOrder,
    ListSessionsStatus,
    MessageIn,
    MessageInRole,
    Metadata,
    PatchSessionIn,
    RevertIn,
    RewindIn,
    SessionOut,
    SummaryIn,
    TurnIn,
    Workflow,
    WorkflowMergePatch,
    WorkflowPutIn,
    WorkflowVersionOut,
)
from chat_sessions_api.types import Response

T = TypeVar("T")
BASE_URL = "http://127.0.0.1:3000"


def ok(answer: T | ErrorOut | GatewayErrorOut | InternalErrorOut | None) -> T:
    """The answer of a success, or the error the service (or API Gateway) gave."""
    if answer is None or isinstance(answer, ErrorOut | GatewayErrorOut | InternalErrorOut):
        raise RuntimeError(f"refused: {answer}")
    return answer


def etag(
    response: Response[WorkflowVersionOut | ErrorOut | GatewayErrorOut | InternalErrorOut],
) -> str:
    return response.headers["ETag"]


def conversation(client: AuthenticatedClient) -> None:
    document = ok(get_open_api.sync(client=Client(base_url=BASE_URL)))
    version_of_document: str = document["openapi"]

    created = create_session.sync_detailed(
        client=client,
        body=CreateSessionIn(
            title="Nightly ETL",
            initial_description="Load the CSV nightly",
            metadata=Metadata.from_dict({"source": "web"}),
        ),
        idempotency_key="create-nightly-etl",
    )
    session = ok(created.parsed)
    replayed = created.headers.get("Idempotent-Replayed") == "true"
    session_id: UUID = session.id
    created_at: datetime = session.created_at
    expires_at: datetime = session.expires_at
    print(version_of_document, replayed, created_at < expires_at, created.headers["Location"])

    page = ok(list_sessions.sync(client=client, status=ListSessionsStatus.ACTIVE, limit=10))
    for listed in page.items:
        same: bool = listed.id == session_id
        print(same, listed.updated_at.isoformat(), page.next_cursor)

    session = ok(get_session.sync(session_id, client=client))
    print(session.current_workflow is None, session.workflow_version)
    session = ok(
        patch_session.sync(
            session_id,
            client=client,
            body=PatchSessionIn(title="Nightly ETL v2"),
            idempotency_key="rename-1",
        )
    )

    message = ok(
        append_message.sync(
            session_id,
            client=client,
            body=MessageIn(role=MessageInRole.ASSISTANT, content="Which columns?", id=uuid4()),
            idempotency_key="answer-1",
        )
    )
    message_id: UUID = message.id
    timestamp: datetime = message.timestamp
    messages = ok(
        list_messages.sync(session_id, client=client, order=ListMessagesOrder.DESC, after_seq=0)
    )
    print(timestamp, [m.seq for m in messages.items], messages.next_cursor)

    stored = put_workflow.sync_detailed(
        session_id,
        client=client,
        body=WorkflowPutIn(
            workflow=Workflow.from_dict({"name": "etl", "steps": {"load": {"batch": 100}}}),
            note="first draft",
            message_id=message_id,
        ),
        if_match="*",
        idempotency_key="workflow-1",
    )
    version = ok(stored.parsed)
    first_at: datetime = version.created_at
    caused_by: UUID | None = version.message_id
    print(first_at, caused_by, version.source.value)

    merged = patch_workflow.sync_detailed(
        session_id,
        client=client,
        body=WorkflowMergePatch.from_dict({"steps": {"load": {"batch": 500}}}),
        if_match=etag(stored),
        note="bigger batches",
        idempotency_key="workflow-2",
    )
    patched = ok(
        patch_workflow.sync(
            session_id,
            client=client,
            body=[
                JsonPatchAddReplaceTest(
                    op=JsonPatchAddReplaceTestOp.TEST, path="/name", value="etl"
                ),
                JsonPatchAddReplaceTest(
                    op=JsonPatchAddReplaceTestOp.ADD, path="/steps/notify", value={}
                ),
                JsonPatchMoveCopy(
                    op=JsonPatchMoveCopyOp.COPY, from_="/steps/load", path="/steps/reload"
                ),
                JsonPatchRemove(op=JsonPatchRemoveOp.REMOVE, path="/steps/reload"),
            ],
            if_match=etag(merged),
            idempotency_key="workflow-3",
        )
    )

    current = ok(get_workflow.sync(session_id, client=client))
    workflow: Workflow = current.workflow
    updated_at: datetime = current.updated_at
    print(workflow.additional_properties, updated_at, patched.version)

    history = ok(list_versions.sync(session_id, client=client, limit=5))
    first = ok(get_version.sync(session_id, history.items[-1].version, client=client))
    diff = ok(
        diff_versions.sync(session_id, client=client, from_=first.version, to=current.version)
    )
    for operation in diff.patch:
        print(operation.op.value, operation.path, diff.changes)
    reverted = ok(
        revert_workflow.sync(
            session_id,
            client=client,
            body=RevertIn(version=first.version, note="back to the first draft"),
            if_match=f'"{current.version}"',
            idempotency_key="revert-1",
        )
    )

    turn = take_turn.sync_detailed(
        session_id,
        client=client,
        body=TurnIn(
            messages=[
                MessageIn(role=MessageInRole.USER, content="Notify me when it fails"),
                MessageIn(role=MessageInRole.ASSISTANT, content="Added a notify step"),
            ],
            workflow_patch=WorkflowMergePatch.from_dict(
                {"steps": {"notify": {"on": "failure"}}}
            ),
            expected_version=reverted.version,
        ),
        idempotency_key="turn-1",
    )
    taken = ok(turn.parsed)
    if taken.workflow_version is not None:
        print(taken.workflow_version.version, turn.headers["ETag"])
    print([m.id for m in taken.messages])

    summary = ok(
        put_summary.sync(
            session_id,
            client=client,
            body=SummaryIn(content="The user wants a nightly ETL.", covers_seq=2),
            idempotency_key="summary-1",
        )
    )
    stored_summary = ok(get_summary.sync(session_id, client=client))
    context = ok(get_context.sync(session_id, client=client, max_bytes=50_000))
    print(
        summary.updated_at == stored_summary.updated_at, context.omitted, len(context.messages)
    )
    if context.workflow is not None:
        print(context.workflow.version, context.workflow.workflow.additional_keys)

    fork = ok(
        fork_session.sync(
            session_id,
            client=client,
            body=ForkIn(at_seq=2, title="Branch"),
            idempotency_key="fork-1",
        )
    )
    if fork.forked_from:
        origin: UUID = fork.forked_from.session_id
        print(origin == session_id, fork.forked_from.seq)

    rewound: SessionOut = ok(
        rewind_session.sync(
            session_id, client=client, body=RewindIn(to_seq=3), idempotency_key="rewind-1"
        )
    )
    print(rewound.message_count)

    exported = ok(export_session.sync(session_id, client=client))
    copy = ok(
        import_session.sync(
            client=client,
            body=ImportIn.from_dict(exported.to_dict()),
            idempotency_key="import-1",
        )
    )
    if copy.imported_from:
        exported_at: datetime = copy.imported_from.exported_at
        print(copy.imported_from.session_id == session_id, exported_at)

    ended = ok(end_session.sync(session_id, client=client, idempotency_key="end-1"))
    print(ended.status.value, ended.delete_after)
    ok(delete_session.sync(fork.id, client=client))
    erased = ok(delete_all_sessions.sync(client=client, confirm=DeleteAllSessionsConfirm.ALL))
    print(erased.deleted, erased.more, json.dumps(ended.to_dict()))


async def read_back(client: AuthenticatedClient, session_id: UUID) -> datetime:
    session = ok(await get_session.asyncio(session_id, client=client))
    return session.updated_at


if __name__ == "__main__":
    with AuthenticatedClient(base_url=BASE_URL, token="a token") as client:
        conversation(client)
        print(asyncio.run(read_back(client, uuid4())))
'''
