"""The strict embedded DynamoDB's faults (LOCAL_DDB_FAULTS: refusals, lost replies, latency,
drawn from LOCAL_DDB_SEED) and its TTL sweep (LOCAL_DDB_TTL_SWEEP_S), each on a server of its
own."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from local.ddb_faults import FaultSpec
from local.ddb_strict import StrictSettings
from local.dynamodb import start_dynamodb
from tests.helpers.dynamodb import client_for, make_table


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "s"}, "sk": {"S": sk}}


# --- faults ---------------------------------------------------------------------------


def test_fault_settings_are_parsed_and_bad_ones_named() -> None:
    spec = FaultSpec.parse("throttle=0.05, internal=0.01,lost_reply=0.01,latency=0-40")
    assert spec == FaultSpec(throttle=0.05, internal=0.01, lost_reply=0.01, latency_ms=(0, 40))
    assert FaultSpec.parse("") == FaultSpec()
    for bad in ("throttle", "throttle=2", "slow=0.1", "latency=9-1", "throttle=0.6,internal=0.6"):
        with pytest.raises(ValueError, match="LOCAL_DDB_FAULTS"):
            FaultSpec.parse(bad)
    with pytest.raises(ValueError, match="LOCAL_DDB_TX_MS"):
        StrictSettings.from_env({"LOCAL_DDB_TX_MS": "soon"})
    assert StrictSettings.from_env({}).strict
    assert not StrictSettings.from_env({"LOCAL_STRICT": "0"}).strict


def test_a_bad_setting_stops_the_server_with_its_name() -> None:
    with pytest.raises(RuntimeError, match="exited with code 3"):
        start_dynamodb(env={"LOCAL_DDB_FAULTS": "throttle=lots"})


@pytest.mark.parametrize(
    ("faults", "codes"),
    [
        ("throttle=1", {"ThrottlingException", "ProvisionedThroughputExceededException"}),
        ("internal=1", {"InternalServerError"}),
    ],
)
def test_refusing_faults_apply_nothing(faults: str, codes: set[str]) -> None:
    with start_dynamodb(env={"LOCAL_DDB_FAULTS": faults, "LOCAL_DDB_SEED": "7"}) as server:
        client = client_for(server)
        table = make_table(client)
        seen = set()
        for i in range(12):
            with pytest.raises(ClientError) as raised:
                client.put_item(TableName=table, Item=key(f"x{i}"))
            seen.add(raised.value.response["Error"]["Code"])
        assert seen == codes


def test_a_lost_reply_is_applied_but_never_answered() -> None:
    with start_dynamodb(env={"LOCAL_DDB_FAULTS": "lost_reply=1"}) as server:
        client = client_for(server)
        table = make_table(client)
        # When a write's reply is lost
        with pytest.raises(ConnectionClosedError):
            client.put_item(TableName=table, Item=key("lost"))


def test_lost_replies_and_refusals_leave_exactly_the_applied_writes() -> None:
    faults = "throttle=0.2,internal=0.1,lost_reply=0.2,latency=0-5"
    with start_dynamodb(env={"LOCAL_DDB_FAULTS": faults, "LOCAL_DDB_SEED": "11"}) as server:
        client = client_for(server)
        table = make_table(client)
        outcome: dict[str, str] = {}
        for i in range(60):
            sk = f"k{i:02d}"
            try:
                client.put_item(TableName=table, Item=key(sk))
                outcome[sk] = "answered"
            except ConnectionClosedError:
                outcome[sk] = "lost"
            except ClientError:
                outcome[sk] = "refused"
        patient = client_for(server, attempts=20)
        stored = {
            item["sk"]["S"] for item in patient.scan(TableName=table, ConsistentRead=True)["Items"]
        }
    assert set(outcome.values()) == {"answered", "lost", "refused"}
    # Answered and lost writes are stored; refused ones are not.
    assert stored == {sk for sk, what in outcome.items() if what != "refused"}


def test_the_same_seed_draws_the_same_faults() -> None:
    def run() -> list[str]:
        env = {"LOCAL_DDB_FAULTS": "throttle=0.3,internal=0.2", "LOCAL_DDB_SEED": "5"}
        with start_dynamodb(env=env) as server:
            client = client_for(server)
            table = make_table(client)
            codes = []
            for i in range(20):
                try:
                    client.put_item(TableName=table, Item=key(f"k{i}"))
                    codes.append("ok")
                except ClientError as e:
                    codes.append(e.response["Error"]["Code"])
            return codes

    assert run() == run()


# --- TTL ------------------------------------------------------------------------------


def test_ttl_deletes_expired_items_and_leaves_the_rest() -> None:
    with start_dynamodb(env={"LOCAL_DDB_TTL_SWEEP_S": "0.2"}) as server:
        client = client_for(server)
        table = make_table(client, ttl=True)
        now = int(time.time())
        expired = [f"old{i}" for i in range(20)]
        for sk in expired:
            client.put_item(TableName=table, Item={**key(sk), "ttl": {"N": str(now - 10)}})
        client.put_item(TableName=table, Item={**key("future"), "ttl": {"N": str(now + 3600)}})
        client.put_item(TableName=table, Item={**key("ancient"), "ttl": {"N": "1000"}})
        client.put_item(TableName=table, Item={**key("text"), "ttl": {"S": str(now - 10)}})
        client.put_item(TableName=table, Item=key("none"))

        deadline = time.monotonic() + 60
        while True:
            left = {i["sk"]["S"] for i in client.scan(TableName=table)["Items"]}
            if not left & set(expired) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    # Items past their ttl are gone; a ttl in the future, over five years old or not a
    # number keeps its item, as in DynamoDB.
    assert left == {"future", "ancient", "text", "none"}


def test_no_ttl_sweep_when_its_interval_is_zero() -> None:
    with start_dynamodb(env={"LOCAL_DDB_TTL_SWEEP_S": "0"}) as server:
        client = client_for(server)
        table = make_table(client, ttl=True)
        client.put_item(TableName=table, Item={**key("old"), "ttl": {"N": "1700000000"}})
        time.sleep(0.5)
        assert client.scan(TableName=table)["Count"] == 1
