"""Reads template.yaml: the table definition, the functions and their HTTP routes.

Tests, the local server and the benchmarks build everything from the template, so they
cannot drift from what is deployed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
TABLE_RESOURCE = "SessionsTable"


class _TemplateLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation's short-form intrinsics (!Ref, !GetAtt, ...)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506
    return data


def table_definition(table_name: str, path: Path = TEMPLATE) -> dict[str, Any]:
    """`create_table` keyword arguments for the table in the template, under `table_name`."""
    props = load_template(path)["Resources"][TABLE_RESOURCE]["Properties"]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def ttl_attribute(path: Path = TEMPLATE) -> str | None:
    props = load_template(path)["Resources"][TABLE_RESOURCE]["Properties"]
    spec = props.get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


def create_table(client: Any, table_name: str, path: Path = TEMPLATE) -> None:
    """Create the template's table (keys, indexes, TTL) through a boto3 DynamoDB client."""
    client.create_table(**table_definition(table_name, path))
    client.get_waiter("table_exists").wait(TableName=table_name)
    attribute = ttl_attribute(path)
    if attribute:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template: /sessions/{session_id}
    function: str  # logical id
    auth: bool
    pattern: re.Pattern[str]
    params: tuple[str, ...]

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def _route(method: str, path: str, function: str, auth: bool) -> Route:
    params = tuple(re.findall(r"\{([^}/]+)\}", path))
    regex = "^" + re.sub(r"\\\{([^}/]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
    return Route(method.upper(), path, function, auth, re.compile(regex), params)


def functions(path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """Logical id -> properties of every AWS::Serverless::Function."""
    resources = load_template(path)["Resources"]
    return {
        name: resource.get("Properties", {})
        for name, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def routes(path: Path = TEMPLATE) -> list[Route]:
    """Every HttpApi event of every function, static paths before parameterised ones."""
    found = []
    for name, props in functions(path).items():
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            ev = event["Properties"]
            auth = (ev.get("Auth") or {}).get("Authorizer") != "NONE"
            found.append(_route(ev["Method"], ev["Path"], name, auth))
    return sorted(found, key=lambda r: (len(r.params), r.path, r.method))


def schedules(path: Path = TEMPLATE) -> dict[str, str]:
    """Logical id -> schedule expression of every function with a Schedule event."""
    found = {}
    for name, props in functions(path).items():
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "Schedule":
                found[name] = event["Properties"]["Schedule"]
    return found
