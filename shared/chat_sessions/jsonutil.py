"""The one JSON codec: strict parsing of request bodies and compact encoding.

Parsing rejects what DynamoDB or JSON clients cannot hold (NaN, Infinity, numbers of more
than 38 significant digits or outside DynamoDB's range, nesting deeper than 32, strings that
are not valid Unicode). Numbers with a fraction or exponent are kept as Decimal and written
back digit for digit (simplejson's use_decimal; the standard library can only write floats,
which keep 17 digits), so a stored workflow comes back exactly as sent.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

import simplejson

MAX_DEPTH = 32
MAX_DIGITS = 38


class MalformedJSON(ValueError):
    """Not JSON at all, or not valid Unicode: a 400."""


class UnacceptableJSON(ValueError):
    """Valid JSON holding a value the service cannot store: a 422."""


def _significant_digits(text: str) -> int:
    try:
        digits = Decimal(text).as_tuple().digits
    except InvalidOperation as exc:  # pragma: no cover - json already validated the syntax
        raise MalformedJSON(f"bad number {text[:40]}") from exc
    return len("".join(map(str, digits)).strip("0")) or 1


# DynamoDB's Number range (in magnitude): 1E-130 to 9.99...E+125, and zero.
_SMALLEST, _TOO_LARGE = Decimal("1E-130"), Decimal("1E+126")


def _check_number(text: str) -> None:
    if _significant_digits(text) > MAX_DIGITS:
        raise UnacceptableJSON(f"number with more than {MAX_DIGITS} significant digits")
    magnitude = abs(Decimal(text))
    if magnitude and not _SMALLEST <= magnitude < _TOO_LARGE:
        raise UnacceptableJSON(
            f"number out of the range that can be stored (0, or a magnitude from 1E-130 to "
            f"under 1E+126): {text[:40]}"
        )


def _parse_int(text: str) -> int:
    _check_number(text)
    return int(text)


def _parse_float(text: str) -> Decimal:
    _check_number(text)
    value = Decimal(text)
    if not math.isfinite(value):  # pragma: no cover - the range check rejects these first
        raise UnacceptableJSON(f"number out of range: {text[:40]}")
    return value


def _reject_constant(name: str) -> Any:
    raise UnacceptableJSON(f"{name} is not allowed")


def _check(value: Any, depth: int) -> None:
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise UnacceptableJSON(f"nesting deeper than {MAX_DEPTH} levels")
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict):
            for key in value:
                _check_text(key)
        for child in children:
            _check(child, depth + 1)
    elif isinstance(value, str):
        _check_text(value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedJSON("body holds a string that is not valid Unicode") from exc


def _balanced(text: str) -> bool:
    """Whether brackets outside strings pair up (checked without recursion)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


def loads(text: str) -> Any:
    """Parse a request body; raises MalformedJSON (400) or UnacceptableJSON (422)."""
    try:
        value = simplejson.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except RecursionError as exc:
        # Too deep to parse: still a 400 when it is not even balanced JSON (400 outranks 422).
        if not _balanced(text):
            raise MalformedJSON("body is not valid JSON") from exc
        raise UnacceptableJSON(f"nesting deeper than {MAX_DEPTH} levels") from exc
    except simplejson.JSONDecodeError as exc:
        raise MalformedJSON(f"body is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    _check(value, 0)
    return value


_ENCODER = simplejson.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, use_decimal=True
)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is: the form every size limit is measured in."""
    text: str = _ENCODER.encode(value)
    return text


def size(value: Any) -> int:
    """UTF-8 bytes of the compact JSON of `value`."""
    return len(dumps(value).encode("utf-8"))


def canonical(value: Any) -> str:
    """Compact JSON with sorted keys: equal for equal JSON documents (True is not 1)."""
    text: str = simplejson.dumps(
        value,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        use_decimal=True,
        sort_keys=True,
    )
    return text
