"""Tools in view: which tool definitions the model is sent on each turn.

Owns the choice of tools per turn (DESIGN.md "Tools in view") and the two meta-tools' schemas
(``search_operations``, ``extract``). It must not execute anything: the planner dispatches
calls; this module only answers "what does the model see" and records what it found.

Three modes, chosen once per catalog and model:
- ``all``: the whole catalog fits the token budget, so every tool is shown (plus ``extract``).
- ``search``: it does not fit (GitHub: 1,223 operations, ~314k tokens). The model sees
  ``search_operations`` and ``extract``, the operations it found by searching or called by
  exact name (most recent first), then the best matches of the catalog's search for the
  current task, as many as fit the budget.
- ``small``: a small model (SmolLM2-135M and the like) sees only the 2 best matches for the
  current task and no meta-tools; measured: a 135M model picks the right tool far more often
  from 2 candidates than from 5 (DESIGN.md). When the best match clearly wins (3x the score
  of the next), it is shown alone.
Budgets count tokens of each tool's JSON with tiktoken (offline encodings), memoized per tool
because the catalog does not change during a run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Literal

from agent.prompts import load_prompt
from tools.catalog import Catalog, SearchHit
from tools.model import JSONObject, Tool

SEARCH_TOOL = "search_operations"
EXTRACT_TOOL = "extract"
# Every name a meta-tool can take (the baton_ forms when an API uses the plain names). A step
# of a meta-tool never has HTTP attempts; use that to tell it from an API operation.
META_TOOLS = frozenset({SEARCH_TOOL, EXTRACT_TOOL, f"baton_{SEARCH_TOOL}", f"baton_{EXTRACT_TOOL}"})
DEFAULT_BUDGET_TOKENS = 4_000
SMALL_MODEL_TOOLS = 2
CLEAR_WINNER = 3.0  # a best match scoring this many times the next one is shown alone
TASK_MATCHES = 6  # best matches for the task considered in search mode
MAX_FOUND = 12  # found/used operations remembered (most recent first)

Mode = Literal["all", "search", "small"]
TokenCounter = Callable[[JSONObject], int]

_SMALL_MODEL = re.compile(r"135m|360m|smol|tinyllama|0\.5b|qwen.*-0\.5b", re.IGNORECASE)


def is_small_model(name: str) -> bool:
    """Heuristic by name; callers that know better pass ``small_model=`` explicitly."""
    return bool(_SMALL_MODEL.search(name))


def count_tool(tool: JSONObject) -> int:
    """Tokens of one OpenAI tool definition as JSON text (what providers tokenize)."""
    from agent.tokens import count_tokens  # lazy: loading an encoding costs ~0.1 s

    return count_tokens(json.dumps(tool, separators=(",", ":")))


def meta_name(catalog: Catalog, name: str) -> str:
    """``name``, or ``baton_<name>`` when the API itself has an operation of that name."""
    return name if name not in catalog else f"baton_{name}"


def search_tool(name: str = SEARCH_TOOL) -> JSONObject:
    return _function(
        name,
        load_prompt("tool_search_operations"),
        {
            "query": {"type": "string", "description": "keywords"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 8},
        },
        ["query"],
    )


def extract_tool(name: str = EXTRACT_TOOL) -> JSONObject:
    return _function(
        name,
        load_prompt("tool_extract"),
        {
            "handle": {"type": "string", "description": 'result handle, e.g. "r1"'},
            "expression": {"type": "string", "description": "JMESPath expression"},
        },
        ["handle", "expression"],
    )


def _function(name: str, description: str, props: JSONObject, required: list[str]) -> JSONObject:
    parameters = {"type": "object", "properties": props, "required": required}
    function = {"name": name, "description": description, "parameters": parameters}
    return {"type": "function", "function": function}


class ToolView:
    """The tools shown to the model, for one conversation over one catalog."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        model_name: str = "",
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        small_model: bool | None = None,
        counter: TokenCounter = count_tool,
    ) -> None:
        self.catalog = catalog
        self.budget_tokens = budget_tokens
        self._count = counter
        self._tokens: dict[str, int] = {}
        # The meta-tools are renamed if the API has operations of the same names: an API
        # whose operation is called "extract" keeps it, callable as is.
        self.search_name = meta_name(catalog, SEARCH_TOOL)
        self.extract_name = meta_name(catalog, EXTRACT_TOOL)
        self._meta = {
            self.search_name: search_tool(self.search_name),
            self.extract_name: extract_tool(self.extract_name),
        }
        self._meta_tokens = {name: counter(tool) for name, tool in self._meta.items()}
        small = is_small_model(model_name) if small_model is None else small_model
        self.mode: Mode = "small" if small else self._fit_mode()
        self._focus: list[str] = []  # best matches for the current task
        self._found: list[str] = []  # found by search or called by name, most recent first

    def _fit_mode(self) -> Mode:
        total = self._meta_tokens[self.extract_name]
        for tool in self.catalog:
            total += self.tokens(tool.name)
            if total > self.budget_tokens:  # stop early: GitHub's first few tools decide it
                return "search"
        return "all"

    def tokens(self, name: str) -> int:
        """Tokens of ``name``'s definition (memoized)."""
        if name not in self._tokens:
            self._tokens[name] = self._count(self.catalog.to_openai([name])[0])
        return self._tokens[name]

    # -- what happened ---------------------------------------------------------------------
    def focus(self, text: str) -> None:
        """A new task (user message): the best matches for it come into view."""
        limit = SMALL_MODEL_TOOLS if self.mode == "small" else TASK_MATCHES
        hits = self.catalog.search(text, limit=limit)
        if self.mode == "small" and hits:
            # A clear winner is shown alone: a second, much weaker candidate only gives a
            # small model a way to be wrong (seen: SmolLM2 picking listProjects next to
            # listMembers for "list the team members", scores 13.2 vs 2.5).
            hits = [h for h in hits if h.score * CLEAR_WINNER >= hits[0].score]
        self._focus = [hit.tool.name for hit in hits]

    def bring_into_view(self, names: list[str]) -> None:
        """Operations the model found or called: shown from the next turn, newest first."""
        wanted = [n for n in names if n in self.catalog]
        kept = [n for n in self._found if n not in wanted]
        self._found = (wanted + kept)[:MAX_FOUND]

    def forget(self) -> None:
        """A new conversation: nothing found yet, no task in focus."""
        self._focus, self._found = [], []

    def search(self, query: str, limit: int = 8) -> list[SearchHit]:
        """The catalog's ranked search; the hits come into view next turn."""
        hits = self.catalog.search(query, limit=max(1, min(limit, 20)))
        self.bring_into_view([h.tool.name for h in hits])
        return hits

    # -- what the model sees ---------------------------------------------------------------
    def names(self) -> list[str]:
        """Names in view this turn, meta-tools first."""
        if self.mode == "all":
            return [*self.catalog.names(), self.extract_name]
        if self.mode == "small":
            return list(self._focus)
        chosen: list[str] = []
        used = sum(self._meta_tokens.values())
        newest = self._found[0] if self._found else None
        for name in dict.fromkeys([*self._found, *self._focus]):
            cost = self.tokens(name)
            # The operation found or called last is shown even when it alone is over budget
            # (GitHub's ruleset operations: ~4,600 tokens): without its schema the model could
            # only guess the arguments.
            if used + cost <= self.budget_tokens or name == newest:
                chosen.append(name)
                used += cost
        return [self.search_name, self.extract_name, *chosen]

    def tools(self, names: list[str] | None = None) -> list[JSONObject]:
        """The OpenAI ``tools`` array for ``names`` (default: ``self.names()``)."""
        out: list[JSONObject] = []
        for name in self.names() if names is None else names:
            if name in self._meta:
                out.append(self._meta[name])
            else:
                out.extend(self.catalog.to_openai([name]))
        return out

    def offers(self, name: str) -> bool:
        """Whether ``name`` is a meta-tool offered in this mode (API tools are always callable)."""
        if name == self.search_name:
            return self.mode == "search"
        return name == self.extract_name and self.mode != "small"


def summary_line(tool: Tool, width: int = 100) -> str:
    """One line saying what an operation does: its summary, else its description's first line."""
    text = tool.summary or next(iter(tool.description.strip().splitlines()), "")
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
