"""The client against the service's own `GET /openapi.json`: every operation there (method and
path) has a method on both clients, and every route the client calls is there."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from chat_sessions_client import AsyncClient, Client
from chat_sessions_client.operations import ROUTES
from client_support import run

from tests.helpers.server import LocalServer

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_operation_of_the_service_has_a_client_method(
    client: Client, stack: LocalServer
) -> None:
    # Given the service's OpenAPI document, read through the client
    served = operations(client.openapi())

    # When its operations are matched with the client's routes by method and path
    by_route = {(route.method, route.path): route for route in ROUTES}
    missing = sorted(served - by_route.keys())

    # Then none lacks a client method, and each method is there on both clients
    assert not missing, f"operations of /openapi.json without a client method: {missing}"

    async def async_methods() -> list[Any]:
        async with AsyncClient(stack.url, token="unused") as async_client:
            return [attrgetter(by_route[op].client_method)(async_client) for op in served]

    assert all(callable(attrgetter(by_route[op].client_method)(client)) for op in served)
    assert all(callable(method) for method in run(async_methods()))


def test_every_route_the_client_calls_is_an_operation_of_the_service(client: Client) -> None:
    served = operations(client.openapi())
    unknown = sorted((r.method, r.path) for r in ROUTES if (r.method, r.path) not in served)
    assert not unknown, f"client routes missing from /openapi.json: {unknown}"
