"""Compact views stay valid JSON within budget; extract reads stored results by handle."""

from __future__ import annotations

import json

from agent.observe import ResultStore, dumps, extract, pagination, shape, trim, view


def _big_list(n: int = 500) -> list[dict[str, object]]:
    return [
        {"id": i, "name": f"item-{i}", "description": "x" * 300, "tags": ["a", "b", "c"]}
        for i in range(n)
    ]


def test_small_results_are_shown_whole() -> None:
    text = view({"status": 200, "handle": "r1"}, {"id": 1, "name": "rex"}, handle="r1")
    assert json.loads(text) == {"status": 200, "handle": "r1", "body": {"id": 1, "name": "rex"}}


def test_big_results_become_a_valid_json_view_within_budget() -> None:
    body = {"total_count": 500, "items": _big_list()}
    text = view({"status": 200, "handle": "r3"}, body, handle="r3", limit=2_000)
    assert len(text) <= 2_000
    data = json.loads(text)  # no blunt cut: it parses
    assert data["truncated"] is True
    assert 'extract with handle "r3"' in data["note"]
    assert data["shape"]["items"] == {
        "type": "array",
        "count": 500,
        "items": {
            "id": "integer",
            "name": "string",
            "description": "string",
            "tags": {"type": "array", "count": 3, "items": "string"},
        },
    }
    assert data["pagination"] == {"total_count": 500}
    items = data["body"]["items"]
    assert items[0]["id"] == 0
    assert items[-1].startswith("…[+")
    assert items[-1].endswith("more items]")
    assert "chars]" in items[0]["description"]


def test_view_fits_even_very_wide_and_deep_bodies() -> None:
    body = {f"key{i}": {"nested": {"deeper": ["v" * 50] * 50}} for i in range(400)}
    text = view({"status": 200, "handle": "r1"}, body, handle="r1", limit=1_500)
    assert len(text) <= 1_500
    assert json.loads(text)["truncated"] is True


def test_link_header_and_cursor_fields_are_kept_as_pagination_hints() -> None:
    headers = {
        "Link": '<https://api.example.com/items?page=2>; rel="next", '
        '<https://api.example.com/items?page=9>; rel="last"',
        "X-Total-Count": "900",
        "Content-Type": "application/json",
    }
    hints = pagination(headers, {"data": [], "next_cursor": "abc", "has_more": True})
    assert hints == {
        "next": "https://api.example.com/items?page=2",
        "last": "https://api.example.com/items?page=9",
        "x-total-count": "900",
        "next_cursor": "abc",
        "has_more": True,
    }


def test_trim_marks_every_cut() -> None:
    assert trim("abcdef", 1, 3, 1, 1) == "abc…[+3 chars]"
    assert trim([1, 2, 3], 2, 10, 10, 2) == [1, 2, "…[+1 more items]"]
    assert trim({"a": 1, "b": 2}, 2, 10, 1, 2) == {"a": 1, "…": "+1 more keys"}
    assert trim({"a": {"b": 1}}, 2, 10, 5, 1) == {"a": "{…1 keys}"}
    assert shape([None, True, 1.5]) == {"type": "array", "count": 3, "items": "boolean"}


def test_extract_queries_a_stored_result_with_jmespath() -> None:
    store = ResultStore()
    handle = store.put({"items": _big_list(50)})
    text, worked = extract(store, handle, "items[?id > `47`].name", limit=2_000)
    assert worked
    assert json.loads(text) == {
        "handle": "r1",
        "expression": "items[?id > `47`].name",
        "result": ["item-48", "item-49"],
    }
    assert json.loads(extract(store, handle, "length(items)", limit=2_000)[0])["result"] == 50


def test_a_big_extract_result_is_stored_under_a_new_handle() -> None:
    store = ResultStore()
    handle = store.put({"items": _big_list(50)})
    data = json.loads(extract(store, handle, "items", limit=1_000)[0])
    assert data["handle"] == "r2"
    assert data["truncated"] is True
    assert store.get("r2") == _big_list(50)


def test_extract_errors_are_observations_the_model_can_act_on() -> None:
    store = ResultStore()
    store.put([1, 2])
    bad, worked = extract(store, "r1", "items[?", limit=2_000)
    assert not worked
    assert bad.startswith("extract failed:")
    assert "JMESPath" in bad
    missing, found = extract(store, "r9", "@", limit=2_000)
    assert not found
    assert 'no result with handle "r9"' in missing
    assert "r1" in missing
    assert dumps({"é": 1}) == '{"é":1}'


def test_a_whole_page_still_says_there_is_a_next_page() -> None:
    headers = {"Link": '<https://api.example.com/issues?page=2>; rel="next"'}
    text = view({"status": 200, "handle": "r1"}, [{"id": 1}], handle="r1", headers=headers)
    assert json.loads(text) == {
        "status": 200,
        "handle": "r1",
        "pagination": {"next": "https://api.example.com/issues?page=2"},
        "body": [{"id": 1}],
    }


def test_shortened_objects_keep_their_telling_keys() -> None:
    issue: dict[str, object] = {f"{k}_url": f"https://api.example.com/{k}" for k in "abcdefghij"}
    issue |= {"node_id": "MDU6", "id": 7, "title": "Found a bug", "state": "open", "comments": 2}
    issue["user"] = {"login": "octocat", "avatar_url": "https://x/y.png", "id": 1}
    body = [dict(issue, number=n) for n in range(40)]
    data = json.loads(view({"status": 200, "handle": "r1"}, body, handle="r1", limit=2_000))
    first = data["body"][0]
    assert {"id", "number", "title", "state"} <= set(first)
    assert "a_url" not in first
    assert "node_id" not in first
    assert len(data["body"]) >= 5  # several items rather than one in full
