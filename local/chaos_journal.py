"""What a `make chaos` run saw and what it concluded: the client-side journal (every request
and its answer, as `Operation` and `Exchange`), the table as read straight from the embedded
DynamoDB, and a rule's verdict (`Invariant`).

The workload (`local.chaos_workload`) writes the journal; the invariants
(`local.chaos_invariants`) judge it against the table.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chat_sessions.records import SESSION_SK
from chat_sessions.statuses import SessionStatus

Items = dict[str, dict[str, Any]]  # sort key -> item
Table = dict[str, Items]  # session id -> its items
NO_ANSWER = 0  # status of an exchange that got no HTTP answer at all
MAX_EXAMPLES = 5  # breaches shown per invariant
SESSION_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def route_of(method: str, path: str) -> str:
    """`PUT /sessions/{session_id}/workflow`: the path as the OpenAPI document names it."""
    template = SESSION_KEY.sub("{session_id}", path.split("?")[0])
    return f"{method} {re.sub(r'/versions/[0-9]+$', '/versions/{version}', template)}"


@dataclass
class Exchange:
    """One HTTP request and its answer (reply headers with lower-case names)."""

    route: str
    request: str  # method and path as sent
    sent: dict[str, Any]  # the headers (but the token) and the body
    status: int
    headers: dict[str, str]
    reply: Any
    started: float
    finished: float

    @property
    def ms(self) -> float:
        return (self.finished - self.started) * 1000


@dataclass
class Operation:
    """One thing a client meant to do: one request, plus its retries after a 503."""

    id: int
    kind: str
    caller: str
    session: str | None
    write: bool
    note: str | None = None
    contents: list[str] = field(default_factory=list)
    replay_of: Operation | None = None  # a client-id append sent again as it was
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def final(self) -> Exchange:
        return self.exchanges[-1]

    @property
    def uncertain(self) -> bool:
        """Some attempt may or may not have been applied (503 or no answer)."""
        return any(e.status in (503, NO_ANSWER) for e in self.exchanges)

    @property
    def started(self) -> float:
        """When its first attempt was sent: it took effect after this, if at all."""
        return self.exchanges[0].started

    @property
    def finished(self) -> float:
        """When its last answer came: it took effect before this, if at all."""
        return self.exchanges[-1].finished

    @property
    def body(self) -> Any:
        """The body it sent (every attempt sends the same)."""
        return self.exchanges[0].sent["body"]

    @property
    def acknowledged(self) -> bool:
        return 200 <= self.final.status < 300

    @property
    def refused(self) -> bool:
        """Answered with an error and never unsure: it took no effect."""
        return not self.acknowledged and not self.uncertain

    @property
    def may_have_applied(self) -> bool:
        return not self.refused


@dataclass
class Invariant:
    name: str
    checked: int = 0
    breaches: list[str] = field(default_factory=list)

    def case(self, breach: str | None) -> None:
        """Count one case; `breach` says what went wrong, None when it held."""
        self.checked += 1
        if breach is not None:
            self.breaches.append(breach)

    @property
    def held(self) -> bool:
        return not self.breaches


# --- the table ---------------------------------------------------------------------------------


def read_session(client: Any, table_name: str, session_id: str) -> Items:
    pages = client.get_paginator("query").paginate(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": session_id}},
        ConsistentRead=True,
    )
    return {item["sk"]["S"]: item for page in pages for item in page["Items"]}


def read_table(client: Any, table_name: str) -> Table:
    table: Table = defaultdict(dict)
    for page in client.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        for item in page["Items"]:
            table[item["pk"]["S"]][item["sk"]["S"]] = item
    return dict(table)


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def should_be_gone(operations: Iterable[Operation], table: Table, now: float) -> set[str]:
    """Sessions deleted (204), marked deleted, or ended and past their grace period."""
    gone = {
        sid
        for sid, items in table.items()
        if items.get(SESSION_SK, {}).get("status") == {"S": SessionStatus.DELETED.value}
    }
    for op in operations:
        if op.session is None:
            continue
        for exchange in op.exchanges:
            if op.kind == "delete" and exchange.status == 204:
                gone.add(op.session)
            ended = op.kind == "end" and exchange.status == 200
            if ended and epoch(exchange.reply["delete_after"]) < now:
                gone.add(op.session)
    return gone
