"""Tool names, argument names, descriptions and the strict-mode variant, as units."""

from __future__ import annotations

import re
from typing import Any

from tools.ingest import ingest_spec
from tools.model import TOOL_NAME_PATTERN
from tools.naming import NameRegistry, arg_name, describe, tool_base_name, trim
from tools.strict import strict_variant


def test_names_from_operation_id_or_method_and_path() -> None:
    assert tool_base_name("repos/list-for-org", "get", "/x") == "repos_list-for-org"
    assert tool_base_name(None, "get", "/pets/{petId}/photos") == "get_pets_petId_photos"
    assert tool_base_name("  ", "delete", "/") == "delete"
    assert tool_base_name("über.größe", "get", "/") == "ber_gr_e"


def test_long_names_are_shortened_readably_and_deterministically() -> None:
    long_id = "microsoft.graph.users.user.mailFolders.messages.attachments.createUploadSession"
    name = tool_base_name(long_id, "post", "/")
    assert len(name) == 64
    assert re.match(TOOL_NAME_PATTERN, name)
    assert name.startswith("microsoft_graph_users_user_mailFolders")
    assert name == tool_base_name(long_id, "post", "/")
    assert name != tool_base_name(long_id + "2", "post", "/")


def test_duplicates_get_numbered_suffixes_within_64() -> None:
    names = NameRegistry()
    assert [names.claim("list"), names.claim("list"), names.claim("list")] == [
        "list",
        "list_2",
        "list_3",
    ]
    base = "x" * 64
    assert names.claim(base) == base
    second = names.claim(base)
    assert len(second) <= 64
    assert second.endswith("_2")


def test_duplicate_operation_ids_in_a_spec_stay_unique() -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a": {"get": {"operationId": "same", **ok}},
            "/b": {"get": {"operationId": "same", **ok}},
        },
    }
    assert ingest_spec(doc).names() == ["same", "same_2"]


def test_argument_names() -> None:
    assert arg_name("page[size]") == "page_size"
    assert arg_name("X-Request-Id") == "X-Request-Id"
    assert arg_name("$filter") == "filter"
    assert re.match(r"^param_[0-9a-f]{8}$", arg_name("$$$"))


def test_descriptions_combine_and_trim_at_sentence_or_word() -> None:
    assert describe("List pets", "Lists the pets.") == "List pets. Lists the pets."
    assert describe("List pets", "List pets") == "List pets"
    assert describe(None, "  spaced \n text ") == "spaced text"
    sentence = "First sentence is here. " * 20
    assert trim(sentence, 100).endswith("here.")
    assert len(trim(sentence, 100)) <= 100
    words = "word " * 100
    cut = trim(words, 50)
    assert cut.endswith("…")
    assert len(cut) <= 50
    assert "wor…" not in cut


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "additionalProperties": False}


def test_strict_variant_makes_optional_properties_nullable() -> None:
    schema = _obj(a={"type": "string", "minLength": 2}, b={"$ref": "#/$defs/B"})
    schema["required"] = ["a"]
    schema["$defs"] = {"B": {"type": "object", "properties": {"c": {"type": "integer"}}}}
    strict = strict_variant(schema)
    assert strict is not None
    assert strict["required"] == ["a", "b"]
    assert strict["properties"]["a"] == {"type": "string"}
    assert strict["properties"]["b"] == {"anyOf": [{"$ref": "#/$defs/B"}, {"type": "null"}]}
    assert strict["$defs"]["B"]["additionalProperties"] is False
    assert strict["$defs"]["B"]["properties"]["c"]["type"] == ["integer", "null"]


def test_strict_variant_is_none_where_strict_mode_cannot_express_it() -> None:
    assert strict_variant(_obj(a={"oneOf": [{"type": "string"}, {"type": "integer"}]})) is None
    assert strict_variant(_obj(a={"type": "object", "additionalProperties": True})) is None
    assert strict_variant(_obj(a={})) is None  # any value
    assert strict_variant(_obj(a={"type": "object"})) is None  # free-form object
    assert strict_variant(_obj()) == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
        "required": [],
    }


def test_descriptions_are_plain_text() -> None:
    text = "> [!NOTE]\n> In **public preview**. See [the docs](https://example.com/d).<br/>More."
    assert describe("Get a task", text) == "Get a task. In public preview. See the docs. More."
