"""Stored items: what the table holds (its keys and attributes), and the records the
store converts them to and from."""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from chat_sessions import jsonutil
from chat_sessions.statuses import SessionStatus

SESSION_SK = "SESSION"
MSG_PREFIX = "MSG#"
MSGID_PREFIX = "MSGID#"
WF_PREFIX = "WF#"
WORKFLOW_SK = "WORKFLOW"  # the current workflow: read with the session in one request
SUMMARY_SK = "SUMMARY"  # the assistant's summary of the conversation (at most one)
# An Idempotency-Key used on a write to a session: IDEM#<key>, what rebuilds its answer.
IDEM_PREFIX = "IDEM#"
SEQ_WIDTH = 10
# An Idempotency-Key of POST /sessions belongs to the caller alone, so its record lives
# outside every session: CREATE#<uuid5(caller, key)>, naming the session it created.
CREATE_KEY_PREFIX = "CREATE#"
CREATE_KEY_SK = "KEY"
_CREATE_KEY_NAMESPACE = uuid.UUID("0b8f7d56-4a53-4c55-9e3e-5d1a0b7c9f21")


def create_key_pk(owner: str, idempotency_key: str) -> str:
    return CREATE_KEY_PREFIX + str(uuid.uuid5(_CREATE_KEY_NAMESPACE, f"{owner}\n{idempotency_key}"))


def create_key_item(key_pk: str, session_id: str, ttl: int, fingerprint: str) -> dict[str, Any]:
    return {
        "pk": s(key_pk),
        "sk": s(CREATE_KEY_SK),
        "session_id": s(session_id),
        "fingerprint": s(fingerprint),
        "ttl": n(ttl),
    }


def idempotency_sk(idempotency_key: str) -> str:
    return f"{IDEM_PREFIX}{idempotency_key}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": s(pk), "sk": s(sk)}


def session_key(session_id: str) -> dict[str, Any]:
    return key(session_id, SESSION_SK)


def message_sk(seq: int) -> str:
    return f"{MSG_PREFIX}{seq:0{SEQ_WIDTH}d}"


def message_id_sk(message_id: str) -> str:
    return f"{MSGID_PREFIX}{message_id}"


def version_sk(version: int) -> str:
    return f"{WF_PREFIX}{version:0{SEQ_WIDTH}d}"


def s(value: str) -> dict[str, Any]:
    return {"S": value}


def n(value: int) -> dict[str, Any]:
    return {"N": str(value)}


def opt_s(value: str | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else {"S": value}


def read_s(item: dict[str, Any], name: str) -> str:
    return str(item[name]["S"])


def read_opt_s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "NULL" in value else str(value["S"])


def read_n(item: dict[str, Any], name: str, default: int = 0) -> int:
    value = item.get(name)
    return default if value is None else int(value["N"])


@dataclass
class SessionRecord:
    id: str
    owner: str
    title: str | None
    metadata: dict[str, Any]
    status: SessionStatus
    created_at: str
    updated_at: str
    expires_at: str
    delete_after: str
    message_count: int
    workflow_version: int
    revision: int
    ttl: int
    deadline_shard: str
    create_key: str | None = None  # the pk of the Idempotency-Key record that created it
    summary_seq: int = 0  # the stored summary's covers_seq; 0: no summary
    forked_from: dict[str, Any] | None = None
    imported_from: dict[str, Any] | None = None

    @property
    def deadline(self) -> str:
        """The next thing the cleanup must do: expire an active session, else delete it."""
        return self.expires_at if self.status == SessionStatus.ACTIVE else self.delete_after

    def to_item(self) -> dict[str, Any]:
        item = {
            "pk": s(self.id),
            "sk": s(SESSION_SK),
            "title": opt_s(self.title),
            "metadata": s(jsonutil.dumps(self.metadata)),
            "status": s(self.status.value),
            "created_at": s(self.created_at),
            "updated_at": s(self.updated_at),
            "expires_at": s(self.expires_at),
            "delete_after": s(self.delete_after),
            "message_count": n(self.message_count),
            "workflow_version": n(self.workflow_version),
            "revision": n(self.revision),
            "ttl": n(self.ttl),
            "deadline_shard": s(self.deadline_shard),
            "deadline": s(self.deadline),
        }
        if self.status not in (SessionStatus.DELETED, SessionStatus.BUILDING):
            item["owner"] = s(self.owner)  # only a visible session is in the by-owner index
        if self.create_key is not None:
            item["create_key"] = s(self.create_key)
        if self.summary_seq:
            item["summary_seq"] = n(self.summary_seq)
        for name in ("forked_from", "imported_from"):
            origin = getattr(self, name)
            if origin is not None:
                item[name] = s(jsonutil.dumps(origin))
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SessionRecord:
        return cls(
            id=read_s(item, "pk"),
            owner=read_opt_s(item, "owner") or "",
            title=read_opt_s(item, "title"),
            metadata=jsonutil.loads(read_s(item, "metadata")),
            status=SessionStatus(read_s(item, "status")),
            created_at=read_s(item, "created_at"),
            updated_at=read_s(item, "updated_at"),
            expires_at=read_s(item, "expires_at"),
            delete_after=read_s(item, "delete_after"),
            message_count=read_n(item, "message_count"),
            workflow_version=read_n(item, "workflow_version"),
            revision=read_n(item, "revision"),
            ttl=read_n(item, "ttl"),
            deadline_shard=read_s(item, "deadline_shard"),
            create_key=read_opt_s(item, "create_key"),
            summary_seq=read_n(item, "summary_seq"),
            forked_from=_read_json(item, "forked_from"),
            imported_from=_read_json(item, "imported_from"),
        )


def _read_json(item: dict[str, Any], name: str) -> Any:
    value = read_opt_s(item, name)
    return None if value is None else jsonutil.loads(value)


@dataclass
class MessageRecord:
    session_id: str
    id: str
    seq: int
    role: str
    content: str
    timestamp: str
    ttl: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": s(self.session_id),
            "sk": s(message_sk(self.seq)),
            "id": s(self.id),
            "seq": n(self.seq),
            "role": s(self.role),
            "content": s(self.content),
            "metadata": s(jsonutil.dumps(self.metadata)),
            "timestamp": s(self.timestamp),
            "ttl": n(self.ttl),
        }

    def guard_item(self) -> dict[str, Any]:
        """Makes the message id unique within the session, and maps it to its seq."""
        return {
            "pk": s(self.session_id),
            "sk": s(message_id_sk(self.id)),
            "seq": n(self.seq),
            "ttl": n(self.ttl),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> MessageRecord:
        return cls(
            session_id=read_s(item, "pk"),
            id=read_s(item, "id"),
            seq=read_n(item, "seq"),
            role=read_s(item, "role"),
            content=read_s(item, "content"),
            metadata=jsonutil.loads(read_s(item, "metadata")),
            timestamp=read_s(item, "timestamp"),
            ttl=read_n(item, "ttl"),
        )


def pack_workflow(workflow: dict[str, Any]) -> dict[str, Any]:
    """Compressed compact JSON: a 256 KB workflow and its change lines fit in 400 KB."""
    return {"B": zlib.compress(jsonutil.dumps(workflow).encode("utf-8"), 6)}


def unpack_workflow(value: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = jsonutil.loads(zlib.decompress(value["B"]).decode("utf-8"))
    return data


@dataclass
class VersionRecord:
    session_id: str
    version: int
    created_at: str
    source: str
    note: str | None
    message_id: str | None
    reverted_from: int | None
    changes: list[str]
    workflow: dict[str, Any] | None
    ttl: int

    def to_item(self) -> dict[str, Any]:
        assert self.workflow is not None
        return {
            "pk": s(self.session_id),
            "sk": s(version_sk(self.version)),
            "version": n(self.version),
            "created_at": s(self.created_at),
            "source": s(self.source),
            "note": opt_s(self.note),
            "message_id": opt_s(self.message_id),
            "reverted_from": {"NULL": True}
            if self.reverted_from is None
            else n(self.reverted_from),
            "changes": s(jsonutil.dumps(self.changes)),
            "workflow": pack_workflow(self.workflow),
            "ttl": n(self.ttl),
        }

    def current_item(self) -> dict[str, Any]:
        """The session's WORKFLOW item when this version is the current one."""
        assert self.workflow is not None
        return {
            "pk": s(self.session_id),
            "sk": s(WORKFLOW_SK),
            "version": n(self.version),
            "updated_at": s(self.created_at),
            "workflow": pack_workflow(self.workflow),
            "ttl": n(self.ttl),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> VersionRecord:
        reverted = item.get("reverted_from")
        return cls(
            session_id=read_s(item, "pk"),
            version=read_n(item, "version"),
            created_at=read_s(item, "created_at"),
            source=read_s(item, "source"),
            note=read_opt_s(item, "note"),
            message_id=read_opt_s(item, "message_id"),
            reverted_from=None if reverted is None or "NULL" in reverted else int(reverted["N"]),
            changes=jsonutil.loads(read_s(item, "changes")),
            workflow=unpack_workflow(item["workflow"]) if "workflow" in item else None,
            ttl=read_n(item, "ttl"),
        )


@dataclass
class CurrentWorkflow:
    version: int
    workflow: dict[str, Any]
    updated_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CurrentWorkflow:
        return cls(
            version=read_n(item, "version"),
            workflow=unpack_workflow(item["workflow"]),
            updated_at=read_s(item, "updated_at"),
        )


@dataclass
class SummaryRecord:
    session_id: str
    content: str
    covers_seq: int
    metadata: dict[str, Any]
    updated_at: str
    ttl: int

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": s(self.session_id),
            "sk": s(SUMMARY_SK),
            "content": s(self.content),
            "covers_seq": n(self.covers_seq),
            "metadata": s(jsonutil.dumps(self.metadata)),
            "updated_at": s(self.updated_at),
            "ttl": n(self.ttl),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SummaryRecord:
        return cls(
            session_id=read_s(item, "pk"),
            content=read_s(item, "content"),
            covers_seq=read_n(item, "covers_seq"),
            metadata=jsonutil.loads(read_s(item, "metadata")),
            updated_at=read_s(item, "updated_at"),
            ttl=read_n(item, "ttl"),
        )


@dataclass
class KeyRecord:
    """An Idempotency-Key used on a write to a session: which request it was (route and a
    fingerprint of its body) and what rebuilds the first answer (small: ids, numbers,
    times; never the messages or workflows the request itself carries)."""

    session_id: str
    key: str
    fingerprint: str
    answer: dict[str, Any]
    ttl: int

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": s(self.session_id),
            "sk": s(idempotency_sk(self.key)),
            "fingerprint": s(self.fingerprint),
            "answer": s(jsonutil.dumps(self.answer)),
            "ttl": n(self.ttl),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> KeyRecord:
        return cls(
            session_id=read_s(item, "pk"),
            key=read_s(item, "sk")[len(IDEM_PREFIX) :],
            fingerprint=read_s(item, "fingerprint"),
            answer=jsonutil.loads(read_s(item, "answer")),
            ttl=read_n(item, "ttl"),
        )
