"""Response bodies are read as what they really are, whatever the Content-Type claims, and
contract drift is reported as warnings, never as failures."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tools.call import BinaryBody
from tools.response import check_contract, parse_body


# -- JSON ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/json",
    ],
)
def test_json(content_type: str) -> None:
    assert parse_body(b'{"id": 7, "tags": ["a"]}', content_type) == (
        {"id": 7, "tags": ["a"]},
        None,
        None,
    )


def test_json_with_a_byte_order_mark_and_other_charsets() -> None:
    assert parse_body(b'\xef\xbb\xbf{"a": 1}', "application/json") == ({"a": 1}, None, None)
    latin = '{"name": "Zoë"}'.encode("latin-1")
    assert parse_body(latin, "application/json; charset=iso-8859-1")[0] == {"name": "Zoë"}
    assert parse_body(b'{"a": 1}', "application/json; charset=no-such-charset")[0] == {"a": 1}


def test_empty_body_is_none() -> None:
    assert parse_body(b"", "application/json") == (None, None, None)


def test_html_served_as_json_is_kept_as_text_with_a_warning() -> None:
    html = b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"
    body, warning, binary = parse_body(html, "application/json")
    assert body == html.decode()
    assert binary is None
    assert warning == (
        "Content-Type says application/json but the body is not valid JSON "
        "(it looks like HTML); kept as text"
    )


@pytest.mark.parametrize("content", [b'{"a": 1', b"{'a': 1}", b'{"a": 1} trailing'])
def test_malformed_json_is_kept_as_text_with_a_warning(content: bytes) -> None:
    body, warning, binary = parse_body(content, "application/json")
    assert body == content.decode()
    assert warning is not None
    assert "not valid JSON" in warning
    assert binary is None


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b"[" * 100_000])
def test_json_deeper_than_the_parser_goes_is_not_called_invalid(content: bytes) -> None:
    # QA Q8: 100,000 nested arrays are valid JSON; "not valid JSON" sent readers looking for a
    # syntax error that is not there.
    body, warning, _ = parse_body(content, "application/json")
    assert body == content.decode()
    assert warning == "the application/json body is too deeply nested to parse; kept as text"


def test_non_standard_json_constants_become_null() -> None:
    body, warning, _ = parse_body(b'{"a": NaN, "b": [Infinity, 1]}', "application/json")
    assert body == {"a": None, "b": [None, 1]}
    assert warning == "the JSON body held Infinity, NaN, which JSON does not allow; read as null"


def test_json_lines() -> None:
    body, warning, _ = parse_body(b'{"n": 1}\n\n{"n": 2}\n', "application/x-ndjson")
    assert (body, warning) == ([{"n": 1}, {"n": 2}], None)


def test_json_served_as_text_plain_is_read_as_json_with_a_warning() -> None:
    body, warning, _ = parse_body(b'[{"id": 1}]', "text/plain; charset=utf-8")
    assert body == [{"id": 1}]
    assert warning == "Content-Type says text/plain but the body is JSON; read as JSON"


def test_no_content_type_is_sniffed() -> None:
    assert parse_body(b'{"a": 1}', None) == ({"a": 1}, None, None)
    assert parse_body(b"plain words", None) == ("plain words", None, None)
    body, warning, binary = parse_body(b"\x00\x01\x02\xff", None)
    assert (body, warning) == (None, None)
    assert binary == BinaryBody(
        media_type="application/octet-stream",
        size=4,
        sha256=hashlib.sha256(b"\x00\x01\x02\xff").hexdigest(),
    )


# -- text and binary -----------------------------------------------------------------------------
def test_text_and_html_stay_text() -> None:
    assert parse_body(b"hello", "text/plain") == ("hello", None, None)
    assert parse_body(b"<p>hi</p>", "text/html") == ("<p>hi</p>", None, None)
    assert parse_body(b"42", "text/plain") == ("42", None, None)  # only objects/arrays sniffed


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/pdf", "application/octet-stream"]
)
def test_binary_is_kept_aside(content_type: str) -> None:
    content = b"%PDF-1.4 or \x89PNG bytes"
    body, warning, binary = parse_body(content, content_type)
    assert (body, warning) == (None, None)
    assert binary == BinaryBody(
        media_type=content_type, size=len(content), sha256=hashlib.sha256(content).hexdigest()
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "text/csv"])
def test_binary_served_as_text_is_kept_aside_with_a_warning(content_type: str) -> None:
    content = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    body, warning, binary = parse_body(content, content_type)
    assert body is None
    assert warning == f"Content-Type says {content_type} but the body is binary"
    assert binary is not None
    assert (binary.media_type, binary.size) == ("application/octet-stream", len(content))


def test_an_unknown_type_with_binary_bytes_is_binary_without_a_warning() -> None:
    body, warning, binary = parse_body(b"\xd0\xcf\x11\xe0\x00\x00", "application/vnd.ms-excel")
    assert (body, warning) == (None, None)
    assert binary is not None
    assert binary.media_type == "application/vnd.ms-excel"


def test_undecodable_text_is_binary() -> None:
    _, warning, binary = parse_body(b"caf\xe9 \xff\xfe", "text/plain; charset=utf-8")
    assert binary is not None
    assert warning == "Content-Type says text/plain but the body is binary"


# -- XML -----------------------------------------------------------------------------------------
def test_xml_becomes_a_dict() -> None:
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
    <pets count="2" xmlns:x="urn:x">
      <pet id="1"><name>Rex</name><x:tag>a</x:tag><x:tag>b</x:tag></pet>
      <pet id="2"><name>Tom</name><note lang="en">old</note><empty/></pet>
    </pets>"""
    body, warning, binary = parse_body(xml, "application/xml")
    assert (warning, binary) == (None, None)
    assert body == {
        "pets": {
            "@count": "2",
            "@xmlns:x": "urn:x",
            "pet": [
                {"@id": "1", "name": "Rex", "x:tag": ["a", "b"]},
                {"@id": "2", "name": "Tom", "note": {"@lang": "en", "#text": "old"}, "empty": None},
            ],
        }
    }


def test_repeated_tags_whose_values_are_lists_stay_separate() -> None:
    xml = b"<r><g><i>1</i><i>2</i></g><g><i>3</i><i>4</i></g><g><i>5</i></g></r>"
    body, _, _ = parse_body(xml, "text/xml")
    assert body == {"r": {"g": [{"i": ["1", "2"]}, {"i": ["3", "4"]}, {"i": "5"}]}}


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>"""


@pytest.mark.parametrize("content", [BOMB, EXTERNAL, b'<!DOCTYPE r SYSTEM "http://x/r.dtd"><r/>'])
def test_xml_with_a_dtd_is_refused_and_kept_as_text(content: bytes) -> None:
    body, warning, binary = parse_body(content, "application/xml")
    assert body == content.decode()
    assert warning == "the XML declares a DTD or entities, which are refused; kept as text"
    assert binary is None


def test_malformed_xml_is_kept_as_text() -> None:
    body, warning, _ = parse_body(b"<a><b></a>", "application/xml")
    assert body == "<a><b></a>"
    assert warning is not None
    assert warning.startswith("Content-Type says application/xml but the body is not XML")


def test_json_served_as_xml_is_read_as_json() -> None:
    body, warning, _ = parse_body(b'{"a": 1}', "application/xml")
    assert body == {"a": 1}
    assert warning == "Content-Type says application/xml but the body is JSON; read as JSON"


def test_deep_xml_does_not_exhaust_recursion() -> None:
    depth = 5000
    xml = b"<a>" * depth + b"x" + b"</a>" * depth
    body, warning, _ = parse_body(xml, "application/xml")
    assert warning is None
    assert isinstance(body, dict)


# -- CSV -----------------------------------------------------------------------------------------
def test_csv_with_a_header_row_becomes_dicts() -> None:
    content = b'name,age\nRex,3\n"Tom, Jr.",\nSue,5,extra\n'
    body, _, _ = parse_body(content, "text/csv")
    assert body == [
        {"name": "Rex", "age": "3"},
        {"name": "Tom, Jr.", "age": ""},
        {"name": "Sue", "age": "5", "_extra": ["extra"]},
    ]


def test_csv_without_a_header_row_stays_rows() -> None:
    body, _, _ = parse_body(b"1,2\n3,4\n", "text/csv")
    assert body == [["1", "2"], ["3", "4"]]


def test_csv_header_parameter_decides() -> None:
    assert parse_body(b"a,b\nc,d\n", "text/csv; header=absent")[0] == [["a", "b"], ["c", "d"]]
    assert parse_body(b"1,2\n3,4\n", "text/csv; header=present")[0] == [{"1": "3", "2": "4"}]


def test_form_urlencoded_becomes_a_dict() -> None:
    body, _, _ = parse_body(
        b"access_token=abc&scope=a&scope=b&empty=", "application/x-www-form-urlencoded"
    )
    assert body == {"access_token": "abc", "scope": ["a", "b"], "empty": ""}


def test_tab_separated_values() -> None:
    body, _, _ = parse_body(b"id\tname\n1\tRex\n", "text/tab-separated-values")
    assert body == [{"id": "1", "name": "Rex"}]


# -- contract drift ------------------------------------------------------------------------------
PET = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "owner": {"$ref": "#/$defs/Owner"},
        "created": {"type": "string", "format": "date-time"},
    },
    "$defs": {"Owner": {"type": "object", "properties": {"email/x": {"type": "string"}}}},
}


def test_a_matching_body_has_no_drift() -> None:
    assert check_contract(PET, {"id": 1, "name": "Rex", "created": "not a date"}) == []


def test_no_schema_means_no_drift() -> None:
    assert check_contract(None, {"anything": True}) == []
    assert check_contract({}, 5) == []


def test_drift_names_where_and_what() -> None:
    problems = check_contract(PET, {"id": "seven", "owner": {"email/x": 3}})
    assert problems == [
        "response body / does not match the spec: 'name' is a required property",
        "response body /id does not match the spec: 'seven' is not of type 'integer'",
        "response body /owner/email~1x does not match the spec: 3 is not of type 'string'",
    ]


def test_a_missing_write_only_property_is_not_drift() -> None:
    schema = {
        "type": "object",
        "required": ["id", "password", "secret"],
        "properties": {
            "id": {"type": "integer"},
            "password": {"type": "string", "writeOnly": True},
            "secret": {"$ref": "#/$defs/Secret"},
        },
        "$defs": {"Secret": {"type": "string", "writeOnly": True}},
    }
    assert check_contract(schema, {"id": 1}) == []
    assert check_contract(schema, {}) == [
        "response body / does not match the spec: 'id' is a required property"
    ]


def test_drift_is_limited() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    problems = check_contract(schema, ["x"] * 20, limit=3)
    assert len(problems) == 4
    assert problems[-1] == "... and 17 more difference(s) from the response schema"


def test_long_values_are_cut_in_messages() -> None:
    problems = check_contract({"type": "integer"}, "x" * 10_000)
    assert len(problems) == 1
    assert len(problems[0]) < 300


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "no-such-type"},
        {"$ref": "#/$defs/Missing"},
        {"properties": {"a": {"$ref": "https://example.com/remote.json"}}},
    ],
)
def test_a_broken_schema_is_a_warning_not_a_failure(schema: dict[str, Any]) -> None:
    problems = check_contract(schema, {"a": 1})
    assert len(problems) == 1
    assert problems[0].startswith("the response schema could not be checked")
