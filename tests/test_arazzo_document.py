"""Arazzo documents: the published examples validate; bad documents fail with file + pointer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cli import main
from tests.conftest import corpus_path
from tools.arazzo import WorkflowDocumentError, load_arazzo

EXAMPLES = (
    "ExtendedParametersExample.arazzo.yaml",
    "FAPI-PAR.arazzo.yaml",
    "LoginAndRetrievePets.arazzo.yaml",
    "bnpl-arazzo.yaml",
    "oauth.arazzo.yaml",
    "pet-coupons.arazzo.yaml",
)

GOOD: dict[str, Any] = {
    "arazzo": "1.0.1",
    "info": {"title": "t", "version": "1"},
    "sourceDescriptions": [{"name": "api", "url": "./api.yaml", "type": "openapi"}],
    "workflows": [
        {
            "workflowId": "main",
            "inputs": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "steps": [
                {
                    "stepId": "one",
                    "operationId": "getThing",
                    "parameters": [{"name": "id", "in": "path", "value": "$inputs.id"}],
                    "successCriteria": [{"condition": "$statusCode == 200"}],
                    "outputs": {"name": "$response.body#/name"},
                },
                {"stepId": "two", "operationId": "listThings"},
            ],
            "outputs": {"name": "$steps.one.outputs.name"},
        },
        {"workflowId": "other", "steps": [{"stepId": "x", "operationId": "listThings"}]},
    ],
}


@pytest.mark.corpus
@pytest.mark.parametrize("name", EXAMPLES)
def test_the_published_examples_validate(name: str) -> None:
    doc = load_arazzo(corpus_path("arazzo", "examples", "1.0.0", name))
    assert doc.workflows
    assert all(w.steps for w in doc.workflows)


@pytest.mark.corpus
def test_an_asyncapi_document_is_refused_in_one_line() -> None:
    path = corpus_path("arazzo", "examples", "1.1.0", "pet-asyncapi.yaml")
    with pytest.raises(WorkflowDocumentError) as info:
        load_arazzo(path)
    assert str(info.value).endswith(
        "an asyncapi document: an Arazzo document starts with 'arazzo: 1.0.x'"
    )


@pytest.mark.corpus
def test_the_bnpl_examples_broken_references_are_warnings() -> None:
    doc = load_arazzo(corpus_path("arazzo", "examples", "1.0.0", "bnpl-arazzo.yaml"))
    assert any("defines no output 'loanTransactionId'" in w for w in doc.warnings)
    assert any("reads no step output" in w for w in doc.warnings)


def _broken(change: Any) -> WorkflowDocumentError:
    raw = copy.deepcopy(GOOD)
    change(raw)
    with pytest.raises(WorkflowDocumentError) as info:
        load_arazzo(raw, label="flow.arazzo.yaml")
    return info.value


def _step(raw: dict[str, Any], i: int = 0) -> dict[str, Any]:
    step: dict[str, Any] = raw["workflows"][0]["steps"][i]
    return step


def test_the_good_document_loads() -> None:
    doc = load_arazzo(copy.deepcopy(GOOD))
    assert [w.workflowId for w in doc.workflows] == ["main", "other"]
    assert doc.workflows[0].steps[1].pointer == "/workflows/0/steps/1"


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        (lambda r: r.pop("info"), "", "'info' is a required property"),
        (lambda r: _step(r).update(operationid="x"), "/workflows/0/steps/0", "unknown field"),
        (
            lambda r: _step(r).update(
                parameters=[{"name": "id", "in": "path", "value": "$input.id"}]
            ),
            "/workflows/0/steps/0/parameters/0/value",
            "unknown source $input",
        ),
        (
            lambda r: _step(r).update(outputs={"n": "$response.bodyy"}),
            "/workflows/0/steps/0/outputs/n",
            "bad expression",
        ),
        (
            lambda r: _step(r).update(onSuccess=[{"name": "g", "type": "goto", "stepId": "nope"}]),
            "/workflows/0/steps/0/onSuccess/0/stepId",
            "unknown step 'nope'",
        ),
        (
            lambda r: _step(r).update(workflowId="other"),
            "/workflows/0/steps/0",
            "has operationId and workflowId",
        ),
        (
            lambda r: _step(r).update(successCriteria=[{"condition": "$statusCode = 200"}]),
            "/workflows/0/steps/0/successCriteria/0/condition",
            "bad condition",
        ),
        (
            lambda r: _step(r).update(parameters=[{"name": "id", "value": 1}]),
            "/workflows/0/steps/0/parameters/0",
            "needs 'in'",
        ),
        (
            lambda r: r["workflows"][0].update(outputs={"x": "$steps.missing.outputs.y"}),
            "/workflows/0/outputs/x",
            "unknown step 'missing'",
        ),
        (
            lambda r: _step(r).update(operationId="$sourceDescriptions.nope.getThing"),
            "/workflows/0/steps/0/operationId",
            "unknown source description 'nope'",
        ),
        (
            lambda r: _step(r).update(
                parameters=[{"reference": "$components.parameters.page", "value": 2}]
            ),
            "/workflows/0/steps/0/parameters/0/reference",
            "no components.parameters.page",
        ),
        (
            lambda r: _step(r, 1).update(stepId="one"),
            "/workflows/0/steps/1/stepId",
            "duplicate step id 'one'",
        ),
    ],
)
def test_bad_documents_name_the_pointer(change: Any, pointer: str, words: str) -> None:
    error = _broken(change)
    assert error.pointer == pointer, error.problems
    assert words in str(error)
    where = f"#{pointer}" if pointer else ""
    assert str(error).startswith(f"flow.arazzo.yaml{where}: ")


def test_circular_depends_on_is_refused_with_the_loop() -> None:
    def loop(raw: dict[str, Any]) -> None:
        raw["workflows"][0]["dependsOn"] = ["other"]
        raw["workflows"][1]["dependsOn"] = ["main"]

    error = _broken(loop)
    assert "circular dependsOn: main -> other -> main" in str(error)
    assert error.pointer == "/workflows/1/dependsOn/0"


def test_every_problem_is_listed_not_only_the_first() -> None:
    def two(raw: dict[str, Any]) -> None:
        _step(raw).update(outputs={"a": "$nope"})
        _step(raw, 1).update(onFailure=[{"name": "r", "type": "retry", "stepId": "zzz"}])

    error = _broken(two)
    assert len(error.problems) >= 3  # bad expression, unknown step, retry without retryAfter
    assert "and 2 more problems" in str(error) or "more problem" in str(error)


def test_the_cli_reports_a_bad_document_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = copy.deepcopy(GOOD)
    _step(raw).update(onSuccess=[{"name": "g", "type": "goto", "stepId": "nope"}])
    path = tmp_path / "flow.arazzo.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["workflow", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "flow.arazzo.yaml#/workflows/0/steps/0/onSuccess/0/stepId" in err


def test_the_cli_validates_a_good_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flow.arazzo.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    assert main(["workflow", "validate", str(path)]) == 0
    assert "2 workflow(s), 3 step(s)" in capsys.readouterr().out


def test_unreadable_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("arazzo: [1.0.0\n")
    with pytest.raises(Exception, match="invalid YAML at line"):
        load_arazzo(path)


def test_another_arazzo_version_is_refused_at_its_version_field() -> None:
    error = _broken(lambda r: r.update(arazzo="1.1.0"))
    assert (error.pointer, error.message) == (
        "/arazzo",
        "Arazzo 1.1.0 is not supported: Baton runs Arazzo 1.0.x",
    )


def test_validate_lists_every_problem_after_the_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = copy.deepcopy(GOOD)
    _step(raw).update(outputs={"a": "$nope"})
    _step(raw, 1).update(onSuccess=[{"name": "g", "type": "goto", "stepId": "zzz"}])
    path = tmp_path / "flow.arazzo.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["workflow", "validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"error: {path}#/workflows/0/steps/0/outputs/a: bad expression")
    assert lines[1] == (
        f"also: {path}#/workflows/0/steps/1/onSuccess/0/stepId: unknown step 'zzz' in workflow "
        "'main' (steps: one, two)"
    )
