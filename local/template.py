"""Reads template.yaml: the table definition, the functions and their HTTP routes.

Tests, the local server and the benchmarks build everything from the template, so they
cannot drift from what is deployed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
TABLE_RESOURCE = "SessionsTable"
# The pseudo parameters' values locally (`sam local`'s).
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


class TemplateError(RuntimeError):
    """The template holds something the local stack cannot resolve; the message says what."""


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


# --- intrinsics ------------------------------------------------------------------------------


class Resolver:
    """Resolves the intrinsics that appear in function properties, as `sam local` would."""

    def __init__(self, template: Mapping[str, Any], table_name: str) -> None:
        self.conditions: Mapping[str, Any] = template.get("Conditions") or {}
        self.parameters = {
            name: str(spec.get("Default", ""))
            for name, spec in (template.get("Parameters") or {}).items()
        }
        self.table_name = table_name
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": "local",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        if name == TABLE_RESOURCE:
            return self.table_name
        if name in self.parameters:
            return self.parameters[name]
        return self.pseudo.get(name, name)

    def get_att(self, resource: str, attribute: str) -> str:
        if resource == TABLE_RESOURCE and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.table_name}"
        return f"{resource}.{attribute}"

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.value(variables[name])
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)

    def value(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(str(parts[0]), str(parts[1]))
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self.sub(str(arg[0]), arg[1] if len(arg) > 1 else {})
                return self.sub(str(arg), {})
            if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
                return str(arg[0]).join(self.value(item) for item in arg[1])
            if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                return self.value(arg[1] if self.condition(str(arg[0])) else arg[2])
        # Like `sam local`: an intrinsic it cannot resolve becomes an empty string.
        return ""

    def condition(self, name: str) -> bool:
        """A named condition of the template, evaluated with the parameters' defaults."""
        if name not in self.conditions:
            raise TemplateError(f"the template has no condition {name!r}")
        return self.truth(self.conditions[name])

    def truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not self.truth(arg[0])
            if key == "Fn::And" and isinstance(arg, list):
                return all(self.truth(item) for item in arg)
            if key == "Fn::Or" and isinstance(arg, list):
                return any(self.truth(item) for item in arg)
            if key == "Condition":
                return self.condition(str(arg))
        raise TemplateError(f"cannot evaluate the condition {node!r}")
