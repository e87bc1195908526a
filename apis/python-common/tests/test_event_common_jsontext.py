"""Exact numbers, strict JSON and nesting measured without recursion."""
from __future__ import annotations

import json

import orjson
import pytest

from event_common import jsontext


def roundtrip(text: str) -> bytes:
    return orjson.dumps(jsontext.loads(text))


@pytest.mark.parametrize("number", ["12345678901234567890.5", "123456789012345678901234567890", "0.1",
                                    "1.5e-7", "-17", "1E+400", "1e131072", "-0", "24439.75", "1.0"])
def test_numbers_keep_their_digits(number):
    assert roundtrip(f'{{"n":{number}}}') == f'{{"n":{number}}}'.encode()


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a":-Infinity}', "", " ", "{} x", "[1,]", "{'a':1}",
                                  '"\\ud800"', '{"\\udc00":1}', '"a\\ud83dz"', "\ufeff{}", '"\x01"'])
def test_not_json(text):
    with pytest.raises(jsontext.NotJSON):
        jsontext.loads(text)


def test_surrogate_pairs_and_whitespace_are_json():
    assert jsontext.loads(' \t\n"\\ud83d\\ude97"\r ') == "🚗"
    assert jsontext.loads('"\\\\ud800"') == "\\ud800"  # an escaped backslash, not a surrogate


def test_nesting_counts_brackets_outside_strings_only():
    assert not jsontext.nests_deeper("[" * 64 + "]" * 64, 64)
    assert jsontext.nests_deeper("[" * 65 + "]" * 65, 64)
    assert not jsontext.nests_deeper('{"a":"' + "[{" * 100 + '"}', 64)
    assert not jsontext.nests_deeper('["\\"' + "[" * 100 + '"]', 64)  # an escaped quote stays in the string
    flat = "[" + ",".join("[]" for _ in range(500)) + "]"  # many brackets, depth 2
    assert not jsontext.nests_deeper(flat, 64)


def test_scan_accepts_exactly_json_at_any_depth():
    deep = "[" * 200_000 + "]" * 200_000
    assert jsontext.scan(deep) == (True, False)
    assert jsontext.scan('{"a":' * 100 + '[1, 2.5e3, true, null, "x\\u0000"]' + "}" * 100) == (True, True)
    assert jsontext.scan(' {"k\\u0000": {}} ') == (True, True)
    assert jsontext.scan('["\\\\u0000"]') == (True, False)


@pytest.mark.parametrize("text", ["[" * 100, "[" * 100 + "]" * 99, "[" * 100 + "]" * 101, "[" * 99 + "}" * 99,
                                  '{"a" 1}', '{"a":1,}', "[1 2]", "[01]", "[1.]", "[-]", "[tru]", '["\x01"]',
                                  '["\\x"]', '["\\ud800"]', "[NaN]", '{"a":1}{}', "{1:2}", "[,1]", '{"a":}'])
def test_scan_rejects_malformed_text_at_any_depth(text):
    assert jsontext.scan(text)[0] is False


def test_scan_agrees_with_the_standard_library_on_shallow_texts():
    samples = ['{"a": [1, {"b": null}], "c": "d"}', "[]", "{}", '"x"', "0", "-0.5E-3", "[1,[2,[3]]]",
               '{"a":1,"a":2}', "[[]]]", '{"a":[}', "true false", "[1,2", '{"a":"\\u00e9"}']
    for text in samples:
        try:
            json.loads(text)
            expected = True
        except ValueError:
            expected = False
        assert jsontext.scan(text)[0] is expected, text


def test_nul_only_through_the_escape():
    value = jsontext.loads('{"a": ["x\\u0000"]}')
    assert jsontext.may_contain_nul('{"a": ["x\\u0000"]}') and jsontext.contains_nul(value)
    assert not jsontext.may_contain_nul('{"a": "x"}')
    assert not jsontext.contains_nul(jsontext.loads('["\\\\u0000"]'))  # escaped backslash, then text
    assert jsontext.contains_nul(jsontext.loads('{"k\\u0000": 1}'))  # keys count too


# Numbers of exactly 100 characters of JSON text, and of 101: the contract's limit counts sign, digits,
# ".", exponent.
NUMBERS_OF_100 = ["1" * 100, "-" + "1" * 99, "0." + "5" * 98, "-1.5e+" + "9" * 94, "1E" + "0" * 98]


@pytest.mark.parametrize("number", NUMBERS_OF_100)
def test_a_number_of_100_characters_is_kept(number):
    assert len(number) == 100
    assert roundtrip(f'{{"n": [{number}]}}') == f'{{"n":[{number}]}}'.encode()


@pytest.mark.parametrize("number", ["1" + n if n[0] != "-" else "-1" + n[1:] for n in NUMBERS_OF_100])
def test_a_number_of_101_characters_is_refused_wherever_it_is(number):
    assert len(number) == 101
    for text in (number, f"[{number}]", f'{{"a": {{"b": [1, {number}]}}}}', f' {number} '):
        with pytest.raises(jsontext.NumberTooLong):
            jsontext.loads(text)


def test_a_long_number_stops_parsing_and_digits_in_strings_do_not_count():
    with pytest.raises(jsontext.NumberTooLong):
        jsontext.loads("[" + "9" * 100_000 + ", oops")  # refused before the malformed rest is reached
    assert jsontext.loads(f'["{"9" * 1000}"]') == ["9" * 1000]
