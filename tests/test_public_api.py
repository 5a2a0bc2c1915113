"""Each package's ``__all__`` is sorted and every name in it resolves to a real object."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("package", ["tools", "agent", "evals"])
def test_all_is_sorted_and_resolves(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(module, name) is not None, name


@pytest.mark.parametrize("package", ["tools", "agent"])
def test_unknown_names_raise_attribute_error(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_importing_the_cli_stays_light() -> None:
    """`baton tools` must start fast: the CLI and the catalog cache import no SDKs."""
    code = (
        "import sys, agent.cli, tools.cache; "
        "heavy = [m for m in ('openai', 'httpx2', 'jsonschema', 'rich', 'prompt_toolkit') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("package", ["tools", "agent"])
def test_lazy_export_table_matches_all(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == set(module._EXPORTS)
