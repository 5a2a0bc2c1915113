"""Catalog search: tokenization, ranking quality on hand-built and real catalogs, speed."""

from __future__ import annotations

import time

import pytest

from tests.conftest import SPECS, corpus_path
from tests.test_catalog import make_tool
from tools.catalog import Catalog
from tools.search import stem, tokenize


def test_tokenize_splits_camel_snake_kebab_and_paths() -> None:
    assert tokenize("listForRepo") == ["list", "repo"]
    assert tokenize("get_user-by_ID") == ["get", "user", "id"]
    assert tokenize("/repos/{owner}/{repo}/issues") == ["repo", "owner", "repo", "issu"]
    assert tokenize("HTTPServerConfig") == ["http", "server", "config"]


def test_stemmer_merges_inflections() -> None:
    forms = {"update", "updates", "updated", "updating"}
    assert {stem(f) for f in forms} == {"updat"}
    assert stem("repositories") == stem("repository")
    assert stem("status") == "status"
    assert stem("address") == "address"


def test_aliases_fold_abbreviations_and_stop_words_are_dropped() -> None:
    assert tokenize("the repositories of an organization") == ["repo", "org"]
    assert tokenize("Retrieve a user") == tokenize("get user")


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(
        [
            make_tool("listPets", path="/pets", summary="List all pets"),
            make_tool("createPet", method="POST", path="/pets", summary="Create a pet"),
            make_tool("showPetById", path="/pets/{petId}", summary="Info for a specific pet"),
            make_tool("listOwners", path="/owners", summary="List the owners of pets"),
            make_tool(
                "uploadPetPhoto",
                method="POST",
                path="/pets/{petId}/photos",
                summary="Upload a photo",
                description="Adds an image to a pet's album.",
            ),
        ]
    )


def test_ranking_prefers_name_and_summary_matches(catalog: Catalog) -> None:
    assert [h.tool.name for h in catalog.search("create a new pet", limit=1)] == ["createPet"]
    assert catalog.search("owners")[0].tool.name == "listOwners"
    assert catalog.search("upload an image")[0].tool.name == "uploadPetPhoto"
    hits = catalog.search("list pets")
    assert hits[0].tool.name == "listPets"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_limits_and_empty_queries(catalog: Catalog) -> None:
    assert len(catalog.search("pet", limit=2)) == 2
    assert catalog.search("") == []
    assert catalog.search("the of a") == []
    assert catalog.search("zebra") == []
    assert Catalog([]).search("pets") == []


def test_unknown_tool_suggestion_uses_search_when_spelling_is_far(catalog: Catalog) -> None:
    assert "uploadPetPhoto" in catalog.suggest("add_photo")


@pytest.mark.corpus
def test_github_issue_listing_ranks_top_three() -> None:
    from tools.cache import load_catalog

    github = load_catalog(corpus_path("github", "api.github.com.3.0.json"), use_cache=False)
    cases = {
        "list issues in a repository": "issues/list-for-repo",
        "create a pull request": "pulls/create",
        "get a user": "users/get-by-username",
        "star a repository": "activity/star-repo-for-authenticated-user",
        "delete a branch protection": "repos/delete-branch-protection",
    }
    for query, operation_id in cases.items():
        top = [h.tool.operation_id for h in github.search(query, limit=3)]
        assert operation_id in top, (query, top)
    started = time.perf_counter()
    for _ in range(20):
        github.search("list the commits of a pull request")
    assert (time.perf_counter() - started) / 20 < 0.05


# (bundled spec, task as a user would type it, the tool that does it)
BUNDLED_CASES = [
    ("demo.yaml", "who is on the team?", "listMembers"),
    ("demo.yaml", "open a new task for the login bug", "createTask"),
    ("demo.yaml", "mark task 12 as done", "updateTask"),
    ("demo.yaml", "comment on task 3", "addComment"),
    ("demo.yaml", "remove task 7", "deleteTask"),
    ("demo.yaml", "show the projects", "listProjects"),
    ("petstore.yaml", "add a new pet", "createPet"),
    ("petstore.yaml", "upload a picture of my dog", "post_pets_petId_photos"),
    ("petstore.yaml", "find order 5", "getOrder"),
    ("library-3.1.yaml", "search for books by author", "searchBooks"),
    ("library-3.1.yaml", "attach a note", "addNote"),
    ("swagger2-store.yaml", "rate an item 5 stars", "rateItem"),
    ("swagger2-store.yaml", "upload an image for item 4", "uploadItemImage"),
]


@pytest.mark.parametrize(("spec", "query", "expected"), BUNDLED_CASES)
def test_bundled_specs_rank_the_right_tool_in_the_top_two(
    spec: str, query: str, expected: str
) -> None:
    from tools.cache import load_catalog

    path = SPECS / spec
    if not path.exists():
        pytest.skip(f"{spec} is not bundled")
    top = [h.tool.name for h in load_catalog(path, use_cache=False).search(query, limit=2)]
    assert expected in top, (query, top)
