"""The journal of a `make chaos` run, digested for the invariants that span operations: who
sent each message content and where the acknowledged ones were answered to be, the rewinds
and summaries of each session, and which session each fork came from.

Rewinds make the time of each operation matter: an acknowledged message may be missing only
because a rewind past it may have been applied after it was written. An operation took effect
(if it did) between the start of its first attempt (`Operation.started`) and its last answer
(`Operation.finished`), so a rewind may have come after a write unless it finished before the
write started.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from chat_sessions.records import SESSION_SK, SessionRecord
from local.chaos_journal import Operation, Table

MESSAGE_KINDS = ("create", "append_id", "append", "foreign", "turn", "replay")


@dataclass(frozen=True)
class Claim:
    """Where an acknowledged answer said a message content is stored."""

    op: Operation
    session: str
    seq: int
    id: str | None  # None: a create's first message (its answer names no message id)


class History:
    def __init__(self, operations: list[Operation], table: Table) -> None:
        self.writers: dict[str, list[Operation]] = defaultdict(list)  # content -> its senders
        self.claims: dict[str, list[Claim]] = defaultdict(list)  # content -> where answered
        self.rewinds: dict[str, list[Operation]] = defaultdict(list)  # that may have applied
        self.summaries: dict[str, list[Operation]] = defaultdict(list)  # session -> PUTs
        self.summary_ops: dict[str, Operation] = {}  # a summary's content -> its PUT
        self.forks: list[Operation] = []
        self.parent: dict[str, str] = {}  # a fork -> its source
        for op in operations:
            if op.kind in MESSAGE_KINDS:
                self._message_op(op)
            elif op.kind == "rewind" and op.may_have_applied and op.session:
                self.rewinds[op.session].append(op)
            elif op.kind == "summary" and op.session:
                self.summaries[op.session].append(op)
                self.summary_ops[op.body["content"]] = op
            elif op.kind == "fork":
                self.forks.append(op)
                if op.acknowledged and op.session:
                    self.parent[op.final.reply["id"]] = op.session
        for sid, items in table.items():
            origin = _forked_from(items)
            if origin is not None:
                self.parent.setdefault(sid, origin)

    def _message_op(self, op: Operation) -> None:
        contents = op.contents
        if op.replay_of is not None:
            contents = [op.replay_of.final.reply["content"]]
        for content in contents:
            self.writers[content].append(op)
        if not op.acknowledged or op.session is None:
            return
        reply = op.final.reply
        if op.kind == "create":
            sid = reply["id"]
            for content in contents:
                self.claims[content].append(Claim(op, sid, 1, None))
            return
        answered = reply["messages"] if op.kind == "turn" else [reply]
        for content, message in zip(contents, answered, strict=False):
            self.claims[content].append(Claim(op, op.session, message["seq"], message["id"]))

    def ancestors(self, session: str) -> list[str]:
        """The session, the one it was forked from, and so on."""
        chain = [session]
        while chain[-1] in self.parent and self.parent[chain[-1]] not in chain:
            chain.append(self.parent[chain[-1]])
        return chain

    def descendants(self, session: str) -> set[str]:
        """The forks of the session, their forks, and so on."""
        return {fork for fork in self.parent if session in self.ancestors(fork)[1:]}

    def removable(
        self, session: str, seq: float, after: float, before: float = math.inf
    ) -> Operation | None:
        """A rewind of the session past `seq` (to_seq < seq) that may have been applied
        after `after` and before `before`; None when there is none."""
        for rewind in self.rewinds.get(session, []):
            if rewind.body["to_seq"] < seq and rewind.finished > after and rewind.started < before:
                return rewind
        return None

    def placed(self, content: str, session: str, seq: int, message_id: str) -> bool:
        """An acknowledged answer put the content at `seq` with this id, in the session or
        one it was forked from (a fork keeps ids and seqs)."""
        chain = self.ancestors(session)
        return any(
            c.session in chain and c.seq == seq and c.id in (None, message_id)
            for c in self.claims.get(content, [])
        )

    def unwritten(
        self, content: str, session: str, seq: int, message_id: str, at: float
    ) -> str | None:
        """Why a message that an answer finished at `at` showed was never written so; None
        when it was (acknowledged at that place, or sent and unsure, before `at`)."""
        senders = [op for op in self.writers.get(content, []) if op.started < at]
        if not senders:
            return f"seq {seq} {content[:30]!r} was sent by no one before"
        if all(op.refused for op in senders):
            return f"seq {seq} {content[:30]!r} was refused ({senders[0].final.status})"
        if self.placed(content, session, seq, message_id):
            return None
        chain = [*self.ancestors(session), None]  # None: a create never answered
        if any(op.uncertain and not op.acknowledged and op.session in chain for op in senders):
            return None  # never answered: wherever it went, it went once (checked on the table)
        places = [(c.session[:8], c.seq) for c in self.claims.get(content, [])]
        return f"seq {seq} {content[:30]!r} was answered at {places}"


def _forked_from(items: dict[str, dict[str, Any]]) -> str | None:
    item = items.get(SESSION_SK)
    origin = SessionRecord.from_item(item).forked_from if item else None
    return str(origin["session_id"]) if origin else None
