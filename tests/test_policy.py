"""Host policy and side-effect gate decisions, without sending anything."""

from __future__ import annotations

import pytest

from tools.call import PreparedRequest
from tools.errors import HostNotAllowedError
from tools.model import HttpBinding, Server, ServerVariable, SideEffect, Tool
from tools.policy import (
    Decision,
    HostPolicy,
    Policy,
    SideEffectGate,
    address_risk,
    host_of,
    server_urls,
)


def _tool(
    servers: list[Server] | None = None, side_effect: SideEffect = "safe", name: str = "op"
) -> Tool:
    binding = HttpBinding(
        method="GET" if side_effect == "safe" else "POST",
        path="/x",
        servers=servers if servers is not None else [Server(url="https://api.example.com/v1")],
        side_effect=side_effect,
    )
    return Tool(name=name, description="", parameters={"type": "object"}, binding=binding)


@pytest.mark.parametrize(
    ("host", "risk"),
    [
        ("8.8.8.8", None),
        ("api.example.com", None),
        ("localhost", "loopback"),
        ("LOCALHOST.", "loopback"),
        ("db.localhost", "loopback"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "shared (carrier NAT)"),
    ],
)
def test_addresses_are_classified(host: str, risk: str | None) -> None:
    assert address_risk(host) == risk


def test_spec_server_hosts_are_allowed() -> None:
    hosts = HostPolicy(_tool(), Policy())
    assert hosts.check("https://api.example.com/v1/pets?x=1") == "api.example.com"
    assert hosts.check("https://API.example.com./v1") == "api.example.com"


def test_foreign_host_is_refused_with_the_allowed_list() -> None:
    with pytest.raises(HostNotAllowedError) as info:
        HostPolicy(_tool(), Policy()).check("https://evil.example.net/steal")
    assert info.value.host == "evil.example.net"
    assert "allowed: api.example.com" in str(info.value)


def test_only_http_schemes_are_sent() -> None:
    with pytest.raises(HostNotAllowedError, match="only http and https"):
        HostPolicy(_tool(), Policy()).check("file:///etc/passwd")


def test_extra_hosts_and_wildcards() -> None:
    hosts = HostPolicy(_tool(), Policy(extra_hosts=frozenset({"files.example.org", "*.cdn.io"})))
    hosts.check("https://files.example.org/a")
    hosts.check("https://eu.cdn.io/a")
    with pytest.raises(HostNotAllowedError):
        hosts.check("https://cdn.io.evil.com/a")


def test_server_variables_expand_to_every_enum_host() -> None:
    server = Server(
        url="https://{region}.api.example.com/{version}",
        variables={
            "region": ServerVariable(default="eu", enum=["eu", "us"]),
            "version": ServerVariable(default="v2"),
        },
    )
    assert server_urls(server) == ["https://eu.api.example.com/v2", "https://us.api.example.com/v2"]
    hosts = HostPolicy(_tool([server]), Policy())
    assert hosts.hosts == {"eu.api.example.com", "us.api.example.com"}


def test_spec_naming_a_private_server_is_refused() -> None:
    tool = _tool([Server(url="http://169.254.169.254/latest")])
    with pytest.raises(HostNotAllowedError, match="link-local address"):
        HostPolicy(tool, Policy()).check("http://169.254.169.254/latest/meta-data")


def test_spec_naming_localhost_is_refused_unless_allowed() -> None:
    tool = _tool([Server(url="http://localhost:8080")])
    with pytest.raises(HostNotAllowedError, match="loopback address; pass --server"):
        HostPolicy(tool, Policy()).check("http://localhost:8080/pets")
    HostPolicy(tool, Policy(allow_private=frozenset({"localhost"}))).check("http://localhost:8080/")


def test_allow_private_accepts_networks() -> None:
    tool = _tool([Server(url="http://10.0.0.5")])
    HostPolicy(tool, Policy(allow_private=frozenset({"10.0.0.0/8"}))).check("http://10.0.0.5/")
    with pytest.raises(HostNotAllowedError):
        HostPolicy(tool, Policy(allow_private=frozenset({"192.168.0.0/16"}))).check(
            "http://10.0.0.5/"
        )


def test_explicit_server_is_allowed_whatever_its_address() -> None:
    hosts = HostPolicy(_tool(), Policy(), server="http://127.0.0.1:4010")
    assert hosts.check("http://127.0.0.1:4010/pets") == "127.0.0.1"
    # The spec's own servers stay allowed; other private hosts stay refused.
    hosts.check("https://api.example.com/v1")
    with pytest.raises(HostNotAllowedError):
        hosts.check("http://10.0.0.1/")


def test_redirect_refusal_names_the_origin() -> None:
    with pytest.raises(HostNotAllowedError, match=r"redirect from api.example.com"):
        HostPolicy(_tool(), Policy()).check(
            "https://evil.example.net/", redirected_from="api.example.com"
        )


async def test_names_resolving_to_private_addresses_are_refused() -> None:
    async def resolve(host: str) -> list[str]:
        return {"api.example.com": ["93.184.216.34", "10.0.0.7"]}[host]

    with pytest.raises(HostNotAllowedError, match=r"resolves to 10.0.0.7"):
        await HostPolicy(_tool(), Policy()).check_resolved("api.example.com", resolve)


async def test_names_resolving_to_public_addresses_pass() -> None:
    async def resolve(host: str) -> list[str]:
        return ["93.184.216.34", "2606:2800:220:1::1"]

    await HostPolicy(_tool(), Policy()).check_resolved("api.example.com", resolve)


async def test_allowed_private_names_are_not_resolved() -> None:
    async def resolve(host: str) -> list[str]:
        raise AssertionError("must not resolve an explicitly allowed host")

    policy = Policy(allow_private=frozenset({"api.example.com"}))
    await HostPolicy(_tool(), policy).check_resolved("api.example.com", resolve)


def test_host_of_handles_ipv6_and_junk() -> None:
    assert host_of("http://[::1]:8080/x") == "::1"
    assert host_of("http://[bad/x") == ""


def _prepared(tool: Tool) -> PreparedRequest:
    return PreparedRequest(
        tool=tool.name, method="POST", url="https://api.example.com/x", headers={}
    )


async def test_safe_calls_need_no_confirmation() -> None:
    tool = _tool()
    assert await SideEffectGate(Policy()).decide(tool, _prepared(tool)) == (
        "allow",
        "safe operation",
    )


async def test_unsafe_call_without_callback_is_denied() -> None:
    tool = _tool(side_effect="unsafe")
    decision, reason = await SideEffectGate(Policy()).decide(tool, _prepared(tool))
    assert decision == "deny"
    assert "--yes" in reason


async def test_idempotent_changes_are_confirmed_too() -> None:
    tool = _tool(side_effect="idempotent")
    decision, _ = await SideEffectGate(Policy()).decide(tool, _prepared(tool))
    assert decision == "deny"


async def test_approved_side_effects_run_without_asking() -> None:
    tool = _tool(side_effect="unsafe")
    decision, _ = await SideEffectGate(Policy(approve_side_effects=True)).decide(
        tool, _prepared(tool)
    )
    assert decision == "allow"


@pytest.mark.parametrize("answer", ["allow", "deny", "dry_run"])
async def test_confirm_callback_decides(answer: Decision) -> None:
    seen: list[PreparedRequest] = []

    async def confirm(request: PreparedRequest) -> Decision:
        seen.append(request)
        return answer

    tool = _tool(side_effect="unsafe")
    gate = SideEffectGate(Policy(confirm=confirm))
    assert (await gate.decide(tool, _prepared(tool)))[0] == answer
    assert (await gate.decide(tool, _prepared(tool)))[0] == answer
    assert len(seen) == 2  # asked each time: only "always" is remembered


async def test_always_is_remembered_for_that_tool_only() -> None:
    asked: list[str] = []

    async def confirm(request: PreparedRequest) -> Decision:
        asked.append(request.tool)
        return "always"

    gate = SideEffectGate(Policy(confirm=confirm))
    create, delete = (
        _tool(side_effect="unsafe", name="create"),
        _tool(side_effect="unsafe", name="delete"),
    )
    assert (await gate.decide(create, _prepared(create)))[0] == "always"
    assert await gate.decide(create, _prepared(create)) == (
        "allow",
        "approved always for this tool",
    )
    await gate.decide(delete, _prepared(delete))
    assert asked == ["create", "delete"]
