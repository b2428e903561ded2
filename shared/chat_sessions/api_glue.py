"""The glue between API Gateway and the layer's operations, shared by every function: the
resolver, the one mapping from exceptions to api.md's error bodies, the caller and the
session a route names, request parsing in the contract's error order, and responses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from chat_sessions import contract, deadline, idempotency, jsonutil
from chat_sessions.errors import (
    ApiError,
    BadRequest,
    NotFound,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from chat_sessions.idempotency import RequestKey
from chat_sessions.models import canonical_uuid
from chat_sessions.observability import logger, metrics
from chat_sessions.resolver import APIGatewayHttpResolver, NotFoundError, Response
from chat_sessions.session_access import ensure_visible

M = TypeVar("M", bound=BaseModel)
# ASCII digits only, matched whole: int() would take "+1", " 1", "1_0".
_DIGITS = re.compile(contract.QUERY_INT_PATTERN)
_IDEMPOTENCY_KEY = re.compile(contract.IDEMPOTENCY_KEY_PATTERN)
JSON = contract.JSON


def error_response(error: ApiError) -> Response[str]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    headers = {}
    if isinstance(error, Unavailable):
        headers["Retry-After"] = str(error.retry_after)
    return Response(error.status, JSON, jsonutil.dumps({"error": body}), headers)


INTERNAL_ERROR_MESSAGE = (
    "the request failed because of a defect in the service; it is logged under "
    "details.request_id, and retrying will not help until it is fixed"
)


class _Resolver(APIGatewayHttpResolver):
    """Routes matched to the end of the path: the stock `^...$` also matches before a final
    newline, so `/sessions/<id>%0A` would reach the session `<id>`."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}\\Z") -> re.Pattern[str]:
        pattern: re.Pattern[str] = APIGatewayHttpResolver._compile_regex(rule, base_regex)
        return pattern


def build_app() -> APIGatewayHttpResolver:
    """A resolver whose every error answer is api.md's envelope; never a bare 500."""
    app = _Resolver(serializer=jsonutil.dumps)

    def request_deadline(app: APIGatewayHttpResolver, next_middleware: Any) -> Any:
        remaining = getattr(app.lambda_context, "get_remaining_time_in_millis", None)
        with deadline.request(remaining() if callable(remaining) else None):
            return next_middleware(app)

    app.use(middlewares=[request_deadline])

    def internal_error(error: BaseException) -> Response[str]:
        # A defect: logged with its stack, counted, answered 500 with the id to find it by.
        # Never 503: a client would retry a defect forever.
        logger.error("unhandled error", exc_info=error)
        metrics.add_metric(name="InternalErrors", unit="Count", value=1)
        context = app.lambda_context if hasattr(app, "lambda_context") else None
        request_id = getattr(context, "aws_request_id", None)
        return error_response(ApiError(INTERNAL_ERROR_MESSAGE, {"request_id": request_id}))

    @app.exception_handler(ApiError)  # type: ignore[untyped-decorator]
    def api_error(error: ApiError) -> Response[str]:
        if isinstance(error, Unavailable):
            # What DynamoDB said goes to the log only: the client is told when to retry.
            cause = error.__cause__
            logger.warning(
                "unavailable",
                extra={"reason": error.message, "cause": repr(cause)[:500] if cause else None},
            )
        elif error.status >= 500:
            return internal_error(error)
        return error_response(error)

    @app.not_found
    def not_found(_: NotFoundError) -> Response[str]:
        return error_response(NotFound("no such resource"))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(error: Exception) -> Response[str]:
        return internal_error(error)

    return app


def caller(app: APIGatewayHttpResolver) -> str:
    """The authenticated caller: the JWT authorizer's `sub` claim."""
    context = app.current_event.raw_event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("no authenticated caller")
    return sub


@dataclass(frozen=True)
class SessionRoute:
    """A request on one session: its caller, and the session id from the path."""

    owner: str
    session_id: str

    def check_exists(self) -> None:
        """404 unless the caller sees the session: what a bad request reports first."""
        ensure_visible(self.owner, self.session_id)


def session_route(app: APIGatewayHttpResolver, session_id: str) -> SessionRoute:
    """The caller (401 without one) and the path's session id (404 when malformed)."""
    return SessionRoute(caller(app), session_id_param(session_id))


def session_id_param(value: str) -> str:
    """A session id from the path; a malformed one is simply not found."""
    return uuid_param(value, "session not found")


def uuid_param(value: str, message: str) -> str:
    found = canonical_uuid(value)
    if found is None:
        raise NotFound(message)
    return found


def header(app: APIGatewayHttpResolver, name: str) -> str | None:
    headers = app.current_event.headers or {}
    return headers.get(name.lower())


def idempotency_key(app: APIGatewayHttpResolver) -> str | None:
    """The Idempotency-Key header; 400 unless it matches contract.IDEMPOTENCY_KEY."""
    key = header(app, contract.IDEMPOTENCY_KEY.name)
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequest(
            f"Idempotency-Key must be 1 to {contract.IDEMPOTENCY_KEY_MAX} visible ASCII "
            "characters (! to ~)"
        )
    return key


def media_type(app: APIGatewayHttpResolver) -> str:
    return (header(app, "content-type") or "").split(";", 1)[0].strip().lower()


def raw_body(app: APIGatewayHttpResolver) -> str:
    try:
        return app.current_event.decoded_body or ""
    except UnicodeDecodeError:
        raise BadRequest("body is not valid UTF-8") from None


_BODY = "chat_sessions.body"  # the parsed body, kept for the request (the context is per request)


def json_value(app: APIGatewayHttpResolver, media_types: tuple[str, ...] = (JSON,)) -> Any:
    """The body parsed as JSON; an empty body is `{}`. Raises 415, 400 or 422."""
    text, media = raw_body(app), media_type(app)
    if not text.strip() and (not media or media in media_types):
        value: Any = {}
    elif media not in media_types:
        raise UnsupportedMediaType(f"send the body as {' or '.join(media_types)}")
    else:
        try:
            value = jsonutil.loads(text)
        except jsonutil.MalformedJSON as exc:
            raise BadRequest(str(exc)) from None
        except jsonutil.UnacceptableJSON as exc:
            raise ValidationFailed(str(exc), [{"field": "", "message": str(exc)}]) from None
    app.context[_BODY] = value
    return value


def request_key(
    app: APIGatewayHttpResolver, route: str, media: str | None = None, if_match: str | None = None
) -> RequestKey | None:
    """The request's Idempotency-Key (400 when malformed) with what identifies the request:
    the route, the body as parsed (read first with json_value), and the given content type
    and If-Match."""
    key = idempotency_key(app)
    return idempotency.request_key(key, route, app.context.get(_BODY, {}), media, if_match)


# A 422 lists at most this many fields: 100 000 unknown members must not make an answer
# bigger than Lambda's response limit.
MAX_DETAILS = 20


def validate(model: type[M], value: Any) -> M:
    try:
        return model.model_validate(value)
    except PydanticValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in error["loc"])[:200], "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)[:MAX_DETAILS]
        ]
        message = "the body does not match the schema"
        if exc.error_count() > MAX_DETAILS:
            message += f" in {exc.error_count()} places; the first {MAX_DETAILS} are listed"
        raise ValidationFailed(message, details) from None


@contextmanager
def session_checked_first(exists: Callable[[], None] | None) -> Iterator[None]:
    """When the request is bad and names a session, a missing session is reported first
    (api.md: 404 outranks 415, 400 and 422)."""
    try:
        yield
    except (UnsupportedMediaType, BadRequest, ValidationFailed):
        if exists is not None:
            exists()
        raise


def parse_body(
    app: APIGatewayHttpResolver,
    model: type[M],
    exists: Callable[[], None] | None = None,
) -> M:
    """The body as `model` (415, 400, 422), after the session's 404 where one is named."""
    with session_checked_first(exists):
        return validate(model, json_value(app))


def parse_write(
    app: APIGatewayHttpResolver,
    model: type[M],
    route: str,
    exists: Callable[[], None] | None = None,
) -> tuple[M, RequestKey | None]:
    """A write's body as `model` and its Idempotency-Key, in api.md's order after the
    session's 404: 415 and 400 for the body, 400 for the key, 422 for the schema."""
    with session_checked_first(exists):
        value = json_value(app)
        key = request_key(app, route)
        return validate(model, value), key


def query(app: APIGatewayHttpResolver, name: str) -> str | None:
    params = app.current_event.query_string_parameters or {}
    return params.get(name)


def query_int(app: APIGatewayHttpResolver, param: contract.IntParam) -> int | None:
    """The query integer `param` declares (its default when absent); 400 outside its bounds."""
    name, low, high = param.name, param.low, param.high
    text = query(app, name)
    if text is None:
        return param.default
    if not _DIGITS.fullmatch(text):
        raise BadRequest(f"{name} must be an integer")
    value = int(text)
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"{name} must be {bound}")
    return value


def query_choice(app: APIGatewayHttpResolver, param: contract.ChoiceParam) -> str | None:
    """The query value `param` declares (its default when absent); 400 unless a choice."""
    value = query(app, param.name)
    if value is None:
        return param.default
    if value not in param.choices:
        raise BadRequest(f"{param.name} must be {' or '.join(param.choices)}")
    return value


def query_text(app: APIGatewayHttpResolver, param: contract.TextParam) -> str | None:
    """The query text `param` declares; 400 over its maximum length."""
    value = query(app, param.name)
    if value is not None and param.max_length is not None and len(value) > param.max_length:
        raise BadRequest(f"{param.name} is over {param.max_length} characters")
    return value


def list_limit(app: APIGatewayHttpResolver) -> int:
    value = query_int(app, contract.LIMIT)
    assert value is not None
    return value


def json_response(
    status: int,
    body: BaseModel | dict[str, Any],
    headers: dict[str, str] | None = None,
    replayed: bool = False,
) -> Response[str]:
    """A JSON answer; `replayed`: a replay of an Idempotency-Key's first answer."""
    # Python mode: json mode would turn Decimal numbers into strings; jsonutil writes them.
    data = body.model_dump() if isinstance(body, BaseModel) else body
    headers = dict(headers or {})
    if replayed:
        headers[contract.REPLAYED_HEADER] = "true"
    return Response(status, JSON, jsonutil.dumps(data), headers)
