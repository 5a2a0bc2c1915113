"""Catalog: lookup, exports, JSON round trip, merging and response-schema selection."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tools.catalog import Catalog, choose_response
from tools.errors import UnknownToolError
from tools.model import (
    TOOL_NAME_PATTERN,
    ArgBinding,
    HttpBinding,
    JSONObject,
    ResponseRef,
    SecurityScheme,
    Server,
    SideEffect,
    Tool,
)
from tools.search import brief_of

SERVER = Server(url="https://api.example.com")


def make_tool(
    name: str,
    *,
    method: str = "GET",
    path: str = "/things",
    summary: str = "",
    description: str = "",
    side_effect: SideEffect = "safe",
    strict: bool = False,
    responses: list[ResponseRef] | None = None,
    security: list[dict[str, list[str]]] | None = None,
) -> Tool:
    params: JSONObject = {
        "type": "object",
        "properties": {"limit": {"type": "integer"}},
        "additionalProperties": False,
    }
    strict_params: JSONObject = {
        "type": "object",
        "properties": {"limit": {"type": ["integer", "null"]}},
        "required": ["limit"],
        "additionalProperties": False,
    }
    return Tool(
        name=name,
        description=description or summary or name,
        parameters=params,
        strict_parameters=strict_params if strict else None,
        binding=HttpBinding(
            method=method,
            path=path,
            servers=[SERVER],
            args=[
                ArgBinding(
                    name="limit",
                    wire_name="limit",
                    location="query",
                    style="form",
                    explode=True,
                    required=False,
                )
            ],
            side_effect=side_effect,
            responses=responses or [],
            security=security or [],
        ),
        summary=summary,
        operation_id=name,
    )


@pytest.fixture
def pets() -> Catalog:
    return Catalog(
        [
            make_tool("listPets", path="/pets", summary="List all pets", strict=True),
            make_tool(
                "createPet",
                method="POST",
                path="/pets",
                summary="Create a pet",
                side_effect="unsafe",
            ),
            make_tool(
                "deletePet",
                method="DELETE",
                path="/pets/{id}",
                summary="Delete a pet",
                side_effect="idempotent",
            ),
        ],
        title="Pet Store",
        source="specs/petstore.yaml",
        spec_hash="abc",
        warnings=["skipped /x: no responses"],
        security_schemes={
            "apiKey": SecurityScheme(
                name="apiKey", type="apiKey", param_name="X-Key", location="header"
            )
        },
    )


def test_lookup_by_name_and_container_protocol(pets: Catalog) -> None:
    assert pets.get("createPet").binding.method == "POST"
    assert len(pets) == 3
    assert "listPets" in pets
    assert "nope" not in pets
    assert [t.name for t in pets] == ["listPets", "createPet", "deletePet"] == pets.names()
    assert pets.title == "Pet Store"
    assert pets.spec_hash == "abc"
    assert pets.warnings == ["skipped /x: no responses"]


def test_unknown_tool_suggests_close_names(pets: Catalog) -> None:
    with pytest.raises(UnknownToolError) as info:
        pets.get("listPet")
    assert info.value.suggestions[0] == "listPets"
    assert info.value.recoverable
    assert "did you mean listPets" in str(info.value)


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate tool name 'a'"):
        Catalog([make_tool("a"), make_tool("a")])


def test_openai_export_is_the_chat_completions_tools_array(pets: Catalog) -> None:
    tools = pets.to_openai(["listPets"])
    assert tools == [
        {
            "type": "function",
            "function": {
                "name": "listPets",
                "description": "List all pets",
                "parameters": pets.get("listPets").parameters,
            },
        }
    ]
    json.dumps(tools)  # must be JSON as sent on the wire


def test_strict_export_falls_back_per_tool_when_no_strict_variant(pets: Catalog) -> None:
    by_name = {t["function"]["name"]: t["function"] for t in pets.to_openai(strict=True)}
    assert by_name["listPets"]["strict"] is True
    assert by_name["listPets"]["parameters"]["required"] == ["limit"]
    assert "strict" not in by_name["createPet"]
    assert by_name["createPet"]["parameters"] == pets.get("createPet").parameters


def test_export_of_unknown_name_raises(pets: Catalog) -> None:
    with pytest.raises(UnknownToolError):
        pets.to_openai(["listPets", "bogus"])


def test_mcp_export_has_input_schema_and_hints(pets: Catalog) -> None:
    entries = {t["name"]: t for t in pets.to_mcp()}
    assert entries["listPets"]["inputSchema"] == pets.get("listPets").parameters
    assert entries["listPets"]["annotations"]["readOnlyHint"] is True
    assert entries["deletePet"]["annotations"]["destructiveHint"] is True
    assert entries["deletePet"]["annotations"]["idempotentHint"] is True
    assert entries["createPet"]["annotations"]["idempotentHint"] is False


def test_json_round_trip_preserves_everything(pets: Catalog) -> None:
    data = json.loads(json.dumps(pets.to_json()))
    again = Catalog.from_json(data)
    assert list(again) == list(pets)
    assert again.security_schemes == pets.security_schemes
    assert (again.title, again.source, again.spec_hash, again.warnings) == (
        pets.title,
        pets.source,
        pets.spec_hash,
        pets.warnings,
    )


def test_from_json_refuses_other_formats(pets: Catalog) -> None:
    data = pets.to_json() | {"format": "baton.catalog/0"}
    with pytest.raises(ValueError, match="format"):
        Catalog.from_json(data)


def test_merge_prefixes_only_clashing_names_deterministically() -> None:
    github = Catalog([make_tool("get_user"), make_tool("list_repos")], title="GitHub v3 REST API")
    gitlab = Catalog([make_tool("get_user"), make_tool("list_projects")], title="GitLab API")
    merged = Catalog.merge([github, gitlab])
    assert merged.names() == ["github_get_user", "list_repos", "gitlab_get_user", "list_projects"]
    assert Catalog.merge([github, gitlab]).names() == merged.names()
    assert merged.get("gitlab_get_user").binding == gitlab.get("get_user").binding


def test_merge_of_same_titles_and_long_names_stays_valid() -> None:
    long = "x" * 64
    one = Catalog([make_tool(long)], title="Same API title that is long")
    two = Catalog([make_tool(long)], title="Same API title that is long")
    names = Catalog.merge([one, two]).names()
    assert len(set(names)) == 2
    assert all(re.match(TOOL_NAME_PATTERN, n) for n in names), names


def test_merge_avoids_a_prefixed_name_taken_by_another_tool() -> None:
    one = Catalog([make_tool("a"), make_tool("b_a")], title="b")
    two = Catalog([make_tool("a")], title="c")
    names = Catalog.merge([one, two]).names()
    assert len(set(names)) == 3
    assert "b_a" in names


def test_merge_renames_conflicting_security_schemes() -> None:
    key = SecurityScheme(name="auth", type="apiKey", param_name="X-A", location="header")
    bearer = SecurityScheme(name="auth", type="http", scheme="bearer")
    one = Catalog(
        [make_tool("a", security=[{"auth": []}])], title="one", security_schemes={"auth": key}
    )
    two = Catalog(
        [make_tool("b", security=[{"auth": []}])], title="two", security_schemes={"auth": bearer}
    )
    merged = Catalog.merge([one, two])
    assert merged.security_schemes["auth"] == key
    assert merged.security_schemes["two_auth"].scheme == "bearer"
    assert merged.get("b").binding.security == [{"two_auth": []}]
    assert merged.get("a").binding.security == [{"auth": []}]


def _responses() -> list[ResponseRef]:
    return [
        ResponseRef(status="200", media_type="application/xml", pointer="/xml200"),
        ResponseRef(status="200", media_type="application/json", pointer="/json200"),
        ResponseRef(status="4XX", media_type="application/json", pointer="/4xx"),
        ResponseRef(status="default", media_type="application/problem+json", pointer="/default"),
    ]


def test_response_choice_exact_then_range_then_default() -> None:
    refs = _responses()
    assert choose_response(refs, 200).pointer == "/json200"  # type: ignore[union-attr]
    assert choose_response(refs, 200, "application/xml; charset=utf-8").pointer == "/xml200"  # type: ignore[union-attr]
    assert choose_response(refs, 404).pointer == "/4xx"  # type: ignore[union-attr]
    assert choose_response(refs, 500).pointer == "/default"  # type: ignore[union-attr]
    assert choose_response(refs[:2], 500) is None


def test_response_schema_resolves_lazily_once_and_routes_after_merge() -> None:
    calls: list[str] = []

    def resolver(pointer: str) -> JSONObject:
        calls.append(pointer)
        return {"type": "object", "title": pointer}

    catalog = Catalog(
        [make_tool("a", responses=_responses())], title="one", schema_resolver=resolver
    )
    assert calls == []
    # 201: no exact code, no 2XX range, so "default" applies
    assert catalog.response_schema("a", 201) == {"type": "object", "title": "/default"}
    assert calls == ["/default"]
    assert catalog.response_schema("a", 200) == {"type": "object", "title": "/json200"}
    catalog.response_schema("a", 200)
    assert calls == ["/default", "/json200"]
    other = Catalog([make_tool("a")], title="two")
    merged = Catalog.merge([catalog, other])
    assert merged.response_schema("one_a", 404) == {"type": "object", "title": "/4xx"}
    assert merged.response_schema("two_a", 404) is None


def test_response_schema_without_resolver_is_none(pets: Catalog) -> None:
    assert pets.response_schema("listPets", 200) is None
    with pytest.raises(UnknownToolError):
        pets.response_schema("nope", 200)


def _lazy_catalog(built: list[str], title: str = "lazy") -> Catalog:
    tools = [
        make_tool("listPets", path="/pets", summary="List all pets"),
        make_tool("createPet", method="POST", path="/pets", summary="Create a pet"),
    ]

    def loader(tool: Tool) -> Callable[[], Tool]:
        def load() -> Tool:
            built.append(tool.name)
            return tool

        return load

    return Catalog.from_briefs([(brief_of(t), loader(t)) for t in tools], title=title)


def test_lazy_catalog_builds_only_the_tools_it_hands_out() -> None:
    built: list[str] = []
    catalog = _lazy_catalog(built)
    assert catalog.names() == ["listPets", "createPet"]
    assert "createPet" in catalog
    assert catalog.brief("createPet").method == "POST"
    assert built == []
    assert catalog.search("create a pet", limit=1)[0].tool.name == "createPet"
    assert built == ["createPet"]
    catalog.get("createPet")
    assert built == ["createPet"]  # built once, then kept
    assert [t.name for t in catalog] == ["listPets", "createPet"]
    assert built == ["createPet", "listPets"]


def test_merging_lazy_catalogs_builds_nothing_until_used() -> None:
    built: list[str] = []
    merged = Catalog.merge([_lazy_catalog(built, "one"), _lazy_catalog(built, "two")])
    assert merged.names() == ["one_listPets", "one_createPet", "two_listPets", "two_createPet"]
    assert merged.brief("two_createPet").summary == "Create a pet"
    assert built == []
    assert merged.get("two_createPet").name == "two_createPet"
    assert built == ["createPet"]
