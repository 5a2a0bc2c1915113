"""The published Arazzo examples against Prism serving their OpenAPI sources.

Prism (``--errors``) answers 422 for a request that breaks the spec, so a step that gets its
declared status proves the runner built the request as the source describes. What each
example can do on mock data, and why not more:

- pet-coupons ``buy-available-pet`` (with its nested ``place-order``): runs to the end.
- pet-coupons ``apply-coupon``: cannot bind: it passes ``pet_tags`` to findPetsByTags, whose
  source declares ``tags`` (and ``pet_id`` where getPetCoupons declares ``petId``).
- oauth ``client-credentials-flow``: the token request is accepted (200), but the source
  declares no response body, so Prism sends none and the ``access_token != null`` criterion
  cannot hold. The step fails on that criterion, as it should (``authorization-code-flow`` and
  ``refresh-token-flow`` stop the same way at their first token check).
- bnpl: cannot bind: it passes ``redirectAuthToken`` to getAuthorization, whose source
  declares ``AuthorizationToken``; its source url is remote (read locally with ``--source``).
- FAPI-PAR: cannot bind: operationId ``PAR``; the source declares ``Par``.
- LoginAndRetrievePets: its source is the swagger.io pet store URL; tests have no network
  and the corpus holds no copy with ``loginUser``.
- ExtendedParametersExample: its source ``./animals.yaml`` is not in the examples folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from tests.conftest import corpus_path
from tests.servers import PrismFactory, prism
from tools.arazzo import WorkflowDocumentError, WorkflowResult, WorkflowRunner, load_arazzo
from tools.arazzo.sources import load_sources, source_location
from tools.credentials import Credentials
from tools.executor import Executor
from tools.ingest import ingest_spec
from tools.policy import Policy

pytestmark = [pytest.mark.integration, pytest.mark.corpus]
__all__ = ["prism"]  # the fixture, imported for pytest to find


def _example(name: str) -> Path:
    return corpus_path("arazzo", "examples", "1.0.0", name)


async def _run_on_prism(
    prism: PrismFactory,
    name: str,
    workflow: str,
    inputs: dict[str, object],
    overrides: dict[str, str] | None = None,
) -> WorkflowResult:
    doc = load_arazzo(_example(name))
    servers = {
        s.name: prism(Path(source_location(doc, s.name, overrides or {})))
        for s in doc.sourceDescriptions
    }
    catalogs = load_sources(
        doc,
        lambda loc, server: ingest_spec(loc, server=server),
        overrides=overrides,
        servers=servers,
    )
    credentials = Credentials(env={"BATON_AUTH_PETSTORE_AUTH": "mock-token"})
    executors = {
        name: Executor(
            catalog,
            server=servers[name],
            credentials=credentials,
            policy=Policy(approve_side_effects=True),
        )
        for name, catalog in catalogs.items()
    }
    try:
        return await WorkflowRunner(doc, catalogs, executors).run(workflow, inputs)
    finally:
        for executor in executors.values():
            await executor.aclose()


async def test_pet_coupons_buy_available_pet_runs_to_the_end(prism: PrismFactory) -> None:
    result = await _run_on_prism(
        prism, "pet-coupons.arazzo.yaml", "buy-available-pet", {"store_id": "pets.example.com"}
    )
    assert result.success, result.error
    assert [
        (s.workflow_id, s.step_id, s.result.status if s.result else None) for s in result.steps
    ] == [
        ("buy-available-pet", "find-pet", 200),
        ("place-order", "place-order", 200),
        ("buy-available-pet", "place-order", None),
    ]
    find = result.steps[0].request
    assert find is not None
    assert "status=available" in find.url
    assert "page=1" in find.url
    assert "pageSize=10" in find.url  # the component parameter's value override
    assert isinstance(result.outputs["buy_pet_order_id"], int)


async def test_oauth_client_credentials_is_accepted_but_has_no_token_to_check(
    prism: PrismFactory,
) -> None:
    result = await _run_on_prism(
        prism,
        "oauth.arazzo.yaml",
        "client-credentials-flow",
        {"client_id": "abc", "client_secret": "s3cret"},
    )
    step = result.steps[0]
    assert step.result is not None
    assert step.result.status == 200  # Prism accepted the form-encoded token request
    assert step.request is not None
    assert step.request.body == {
        "client_id": "abc",
        "client_secret": "s3cret",
        "grant_type": "client_credentials",
    }
    assert not result.success
    assert step.failed_criteria == ["$[?@.access_token != null]"]


@pytest.mark.parametrize(
    ("name", "workflow", "overrides", "words"),
    [
        ("pet-coupons.arazzo.yaml", "apply-coupon", None, "no query parameter 'pet_tags'"),
        ("FAPI-PAR.arazzo.yaml", None, None, "unknown operation 'PAR'"),
        (
            "bnpl-arazzo.yaml",
            None,
            {"BnplApi": "bnpl-openapi.yaml"},
            "no query parameter 'redirectAuthToken'",
        ),
        ("ExtendedParametersExample.arazzo.yaml", None, None, "animals.yaml"),
    ],
)
async def test_examples_that_cannot_bind_say_exactly_why(
    name: str,
    workflow: str | None,
    overrides: dict[str, str] | None,
    words: str,
) -> None:
    if overrides:
        overrides = {k: str(_example(v)) for k, v in overrides.items()}
    with pytest.raises(WorkflowDocumentError) as info:
        await _bind_and_run(name, workflow, overrides)
    assert words in str(info.value)
    assert str(info.value).startswith(str(_example(name)) + "#/")


async def _bind_and_run(name: str, workflow: str | None, overrides: dict[str, str] | None) -> None:
    doc = load_arazzo(_example(name))
    catalogs = load_sources(doc, lambda loc, server: ingest_spec(loc), overrides=overrides)
    await WorkflowRunner(doc, catalogs, {}).run(workflow, {})


def test_the_cli_runs_an_example_on_prism(
    prism: PrismFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BATON_HOME", str(tmp_path))
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BATON_AUTH_PETSTORE_AUTH", "mock-token")
    url = prism(_example("pet-coupons.openapi.yaml"))
    argv = [
        "workflow",
        "run",
        str(_example("pet-coupons.arazzo.yaml")),
        "--workflow",
        "buy-available-pet",
        "--server",
        url,
        "--yes",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["success"] is True
    assert [s["step_id"] for s in out["steps"]] == ["find-pet", "place-order", "place-order"]
    # The run is stored as a transcript, so it can be exported like an agent run.
    assert main(["workflow", "export", out["run_id"], "-o", str(tmp_path / "again.yaml")]) == 0
    assert load_arazzo(tmp_path / "again.yaml").workflows[0].steps[0].operationId == (
        "findPetsByStatus"
    )
