"""DynamoDB's Time to Live for the embedded server: moto keeps expired items forever.

DynamoDB deletes an item some time after the number in its table's TTL attribute (epoch
seconds) has passed, each item on its own, in no particular order, sometimes days late;
items whose value is more than five years in the past are left alone. The sweeper here
does that every `interval` seconds: it collects the expired items of every table with TTL
enabled, shuffles them, and deletes them one at a time, so requests interleave with the
deletions and a session item may go before or after its messages.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

FIVE_YEARS = 5 * 365 * 24 * 3600


def _expired_keys(now: float) -> list[tuple[Any, str, dict[str, Any], str]]:
    """(backend, table name, key, TTL attribute) of each expired item, in table order."""
    from moto.dynamodb.models import dynamodb_backends

    found = []
    for regions in list(dynamodb_backends.values()):
        for backend in list(regions.values()):
            for table in list(backend.tables.values()):
                ttl = table.ttl
                if ttl.get("TimeToLiveStatus") != "ENABLED" or not ttl.get("AttributeName"):
                    continue
                attribute = ttl["AttributeName"]
                for item in table.all_items():
                    if _is_expired(item.attrs.get(attribute), now):
                        key = {table.hash_key_attr: item.hash_key.to_json()}
                        if table.range_key_attr is not None:
                            key[table.range_key_attr] = item.range_key.to_json()  # type: ignore[union-attr]
                        found.append((backend, table.name, key, attribute))
    return found


def _is_expired(value: Any, now: float) -> bool:
    if value is None or value.type != "N":
        return False
    try:
        expires = float(value.value)
    except ValueError:
        return False
    return now - FIVE_YEARS <= expires < now


class TtlSweeper:
    """Deletes expired items every `interval` seconds on a daemon thread."""

    def __init__(
        self,
        interval: float,
        lock: AbstractContextManager[Any],
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = interval
        self._lock = lock
        self._random = random.Random(seed)
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ttl-sweeper", daemon=True)
        self.deleted = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sweep()

    def sweep(self) -> int:
        """One pass: delete every item expired now, one request's worth at a time."""
        with self._lock:
            expired = _expired_keys(self._clock())
        self._random.shuffle(expired)
        deleted = 0
        for backend, table_name, key, attribute in expired:
            if self._stop.is_set():
                break
            with self._lock:
                # Still there and still expired: a request may have changed it meanwhile.
                from moto.dynamodb.exceptions import ResourceNotFoundException

                try:
                    item = backend.get_item(table_name, key)
                except ResourceNotFoundException:  # the table was deleted meanwhile
                    continue
                if item is not None and _is_expired(item.attrs.get(attribute), self._clock()):
                    backend.delete_item(table_name, key)
                    deleted += 1
        self.deleted += deleted
        return deleted
