"""The strict JSON codec."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chat_sessions import jsonutil
from chat_sessions.jsonutil import MalformedJSON, UnacceptableJSON


def test_parses_plain_json_and_encodes_compactly_without_escaping() -> None:
    value = jsonutil.loads('{"a": [1, 2.5, true, null], "é": "ü"}')
    assert value == {"a": [1, 2.5, True, None], "é": "ü"}
    assert jsonutil.dumps(value) == '{"a":[1,2.5,true,null],"é":"ü"}'
    assert jsonutil.size(value) == len('{"a":[1,2.5,true,null],"é":"ü"}'.encode())


@pytest.mark.parametrize(
    "text",
    [
        *("NaN", "[Infinity]", '{"x": -Infinity}', "1e400", "[" + "9" * 39 + "]", "0." + "1" * 39),
        *("1e126", "-1e130", "1e-131", "1e-400", "5e-324", "1" + "0" * 126),
    ],
)
def test_rejects_values_dynamodb_and_json_clients_cannot_hold(text: str) -> None:
    with pytest.raises(UnacceptableJSON):
        jsonutil.loads(text)


def test_accepts_38_significant_digits_trailing_zeros_and_dynamodbs_range() -> None:
    assert jsonutil.loads("9" * 38) == int("9" * 38)
    assert jsonutil.loads("1" + "0" * 50) == 10**50
    assert jsonutil.loads("[9.99e125, -1e-130, 0, 0.0, -0]") == [
        Decimal("9.99e125"),
        Decimal("-1e-130"),
        0,
        0,
        0,
    ]


@pytest.mark.parametrize(
    "text", ["0.12345678901234567890123456789012345678", "1.10", "-2.5E+7", "1e-130", "3.0"]
)
def test_numbers_come_back_digit_for_digit(text: str) -> None:
    assert jsonutil.dumps(jsonutil.loads(f'{{"n":{text}}}')) == f'{{"n":{text}}}'.replace("e", "E")


def test_depth_32_is_accepted_and_33_rejected() -> None:
    assert jsonutil.loads("[" * 32 + "]" * 32) is not None
    with pytest.raises(UnacceptableJSON):
        jsonutil.loads("[" * 33 + "]" * 33)
    with pytest.raises(UnacceptableJSON):
        jsonutil.loads("[" * 100000 + "]" * 100000)


@pytest.mark.parametrize(
    "text", ["", "{", "{'a': 1}", '"\\ud800"', '{"\\udc00": 1}', "[" * 5000, '{"a":' * 5000]
)
def test_malformed_json_or_unicode_is_malformed(text: str) -> None:
    with pytest.raises(MalformedJSON):
        jsonutil.loads(text)
