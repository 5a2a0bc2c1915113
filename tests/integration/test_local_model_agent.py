"""End to end with nothing faked: the real local model plans a call on the bundled demo spec,
the executor sends it to the real demo API on 127.0.0.1, and the run records the result.

Asserted: the model made at least one real tool call that the demo API answered with 200.
Not asserted: the wording or correctness of the final answer (a 135M model is weak at it).
Skipped with a reason when the ``local`` extra is not installed.
"""

from __future__ import annotations

import pytest

from agent.agent import Agent
from agent.demo_api import running_demo_api
from agent.local_model import LocalModel, local_model_available
from tests.conftest import SPECS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not local_model_available(), reason="the local model is not installed (make setup-local)"
    ),
]


async def test_the_local_model_lists_the_team_members_through_the_demo_api() -> None:
    with running_demo_api() as base_url:
        async with LocalModel() as model:
            agent = Agent([SPECS / "demo.yaml"], model=model, server=base_url)
            async with agent:
                result = await agent.run("list the team members")
        assert not model.server.running
    answered = [c for c in result.calls if c.result is not None and c.result.status == 200]
    assert answered, f"no successful call; calls: {[(c.tool, c.error) for c in result.calls]}"
    assert answered[0].tool == "listMembers"
    assert result.transcript.usage.prompt_tokens > 0
