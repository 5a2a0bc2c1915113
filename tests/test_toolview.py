"""Tools in view adapt to the catalog's size, the token budget and the model."""

from __future__ import annotations

from agent.tokens import count_tool_tokens
from agent.toolview import EXTRACT_TOOL, SEARCH_TOOL, ToolView, is_small_model, summary_line
from tools.catalog import Catalog
from tools.model import HttpBinding, Server, Tool

WORDS = ["invoice", "customer", "refund", "shipment", "coupon", "webhook", "report", "ledger"]


def make_tool(name: str, summary: str, *, params: int = 1, method: str = "GET") -> Tool:
    properties = {
        f"p{i}": {"type": "string", "description": f"{summary} field {i}"} for i in range(params)
    }
    return Tool(
        name=name,
        description=f"{summary}.\n\nLonger text about {name}.",
        summary=summary,
        parameters={"type": "object", "properties": properties},
        binding=HttpBinding(
            method=method,
            path=f"/{name}",
            servers=[Server(url="https://api.example.com")],
            side_effect="safe" if method == "GET" else "unsafe",
        ),
    )


def big_catalog(n: int = 300) -> Catalog:
    tools = [
        make_tool(f"{verb}_{word}_{i}", f"{verb.title()} a {word} number {i}", params=6)
        for i in range(n // 16 + 1)
        for word in WORDS
        for verb in ("get", "create")
    ]
    return Catalog(tools[:n], title="Big")


def small_catalog() -> Catalog:
    return Catalog(
        [
            make_tool("listPets", "List all pets"),
            make_tool("createPet", "Create a pet", method="POST"),
            make_tool("getPet", "Get one pet by id"),
            make_tool("deletePet", "Delete a pet", method="DELETE"),
            make_tool("listOwners", "List the owners of pets"),
        ]
    )


def test_a_catalog_that_fits_the_budget_is_shown_whole() -> None:
    view = ToolView(small_catalog(), model_name="gpt-4o")
    view.focus("list pets")
    assert view.mode == "all"
    assert view.names() == [
        "listPets",
        "createPet",
        "getPet",
        "deletePet",
        "listOwners",
        EXTRACT_TOOL,
    ]
    assert [t["function"]["name"] for t in view.tools()] == view.names()


def test_a_big_catalog_shows_search_plus_the_best_matches_within_budget() -> None:
    catalog = big_catalog()
    assert count_tool_tokens(catalog.to_openai()) > 10 * 2_000  # far over the budget
    view = ToolView(catalog, budget_tokens=2_000)
    view.focus("create a refund for a customer")
    names = view.names()
    assert view.mode == "search"
    assert names[:2] == [SEARCH_TOOL, EXTRACT_TOOL]
    assert any(n.startswith("create_refund") for n in names[2:])
    assert count_tool_tokens(view.tools()) <= 2_000


def test_operations_found_by_search_come_into_view_first() -> None:
    view = ToolView(big_catalog(), budget_tokens=2_000)
    view.focus("create a refund")
    hits = view.search("ledger get", limit=3)
    assert all("ledger" in h.tool.name for h in hits)
    names = view.names()
    assert names[2 : 2 + len(hits)] == [h.tool.name for h in hits]
    view.bring_into_view(["create_coupon_3"])  # called by exact name
    assert view.names()[2] == "create_coupon_3"
    view.bring_into_view(["no_such_tool"])
    assert "no_such_tool" not in view.names()


def test_a_small_model_sees_only_the_two_best_matches() -> None:
    view = ToolView(small_catalog(), model_name="SmolLM2-135M-Instruct")
    view.focus("list pets and owners")
    assert view.mode == "small"
    assert view.names() == ["listOwners", "listPets"]
    assert not view.offers(SEARCH_TOOL)
    assert not view.offers(EXTRACT_TOOL)
    forced = ToolView(small_catalog(), model_name="gpt-4o", small_model=True)
    assert forced.mode == "small"


def test_small_model_names_and_summary_lines() -> None:
    assert is_small_model("smollm2-135m")
    assert not is_small_model("gpt-4o-mini")
    tool = make_tool("x", "")
    assert summary_line(tool) == "."
    assert summary_line(make_tool("y", "word " * 50), width=20).endswith("…")


def test_forget_clears_found_tools() -> None:
    view = ToolView(big_catalog(), budget_tokens=2_000)
    view.search("ledger", limit=2)
    view.forget()
    assert view.names() == [SEARCH_TOOL, EXTRACT_TOOL]


def test_a_clear_winner_is_shown_alone_to_a_small_model() -> None:
    catalog = Catalog(
        [
            make_tool("listMembers", "List the team members with their roles"),
            make_tool("listProjects", "List the projects"),
        ]
    )
    view = ToolView(catalog, small_model=True)
    view.focus("list the team members")
    assert view.names() == ["listMembers"]
    view.focus("list")  # no clear winner: both stay
    assert len(view.names()) == 2


def test_meta_tools_step_aside_for_api_operations_of_the_same_name() -> None:
    catalog = Catalog([make_tool("extract", "Extract text from a document"), *small_catalog()])
    view = ToolView(catalog, model_name="gpt-4o")
    assert view.extract_name == "baton_extract"
    assert view.search_name == SEARCH_TOOL
    assert view.names()[-2:] == ["listOwners", "baton_extract"]
    assert "extract" in view.names()
    assert view.offers("baton_extract")
    assert not view.offers("extract")  # the API's own operation, dispatched to the executor


def test_the_newest_found_operation_is_shown_even_over_budget() -> None:
    huge = make_tool("bulkImport", "Import everything", params=400)
    catalog = Catalog([huge, *big_catalog(100)])
    view = ToolView(catalog, budget_tokens=2_000)
    assert view.tokens("bulkImport") > 2_000
    view.focus("create a refund")
    assert "bulkImport" not in view.names()
    view.bring_into_view(["bulkImport"])
    assert view.names()[2] == "bulkImport"
