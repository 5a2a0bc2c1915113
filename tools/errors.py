"""Errors raised by the tools layer. Every error carries the context a user needs.

Tree::

    ToolsError
    ├── SpecError                 bad or unreadable spec: source + JSON pointer + what is wrong
    ├── UnknownToolError          no tool of that name (recoverable: told to the model)
    ├── ArgumentError             arguments invalid for the tool's schema (recoverable)
    ├── CredentialsError          a security scheme has no credentials; names the variable
    ├── ServerURLError            the explicit server (--server) is not a usable http(s) base URL
    ├── PolicyError               the policy refused the call
    │   ├── HostNotAllowedError   target host is not a server of the spec nor configured
    │   └── SideEffectDeniedError an unsafe call was not approved (recoverable)
    └── CallError                 the call could not complete (after retries)
        ├── CallTimeoutError
        ├── RetryAfterTooLongError  the server asked to wait longer than the cap
        ├── CircuitOpenError        the host's circuit breaker is open
        ├── RedirectRefusedError    the API redirected to a host the policy refuses
        └── ResponseTooLargeError   the body exceeded the size cap

HTTP statuses are results, never exceptions.
"""

from __future__ import annotations


class ToolsError(Exception):
    """Root of the tools layer's errors."""

    recoverable: bool = False  # True when the model can fix it by changing its call


class SpecError(ToolsError):
    def __init__(self, message: str, *, source: str = "", pointer: str = "") -> None:
        self.message = message
        self.source = source
        self.pointer = pointer
        where = source + (f"#{pointer}" if pointer else "")
        super().__init__(f"{where}: {message}" if where else message)


class UnknownToolError(ToolsError):
    recoverable = True

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown tool {name!r}{hint}")


class ArgumentError(ToolsError):
    """Invalid arguments. ``problems`` lists (argument JSON pointer, message) pairs."""

    recoverable = True

    def __init__(self, tool: str, problems: list[tuple[str, str]]) -> None:
        self.tool = tool
        self.problems = problems
        lines = "; ".join(f"{ptr or '/'}: {msg}" for ptr, msg in problems)
        super().__init__(f"invalid arguments for {tool}: {lines}")


class CredentialsError(ToolsError):
    def __init__(self, message: str, *, scheme: str = "", variable: str = "") -> None:
        self.scheme = scheme
        self.variable = variable
        super().__init__(message)


class ServerURLError(ToolsError):
    """The server the user chose (``--server``) is not a usable http(s) base URL."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"--server {url!r} {reason}")


class PolicyError(ToolsError):
    pass


class HostNotAllowedError(PolicyError):
    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        super().__init__(f"host {host!r} is not allowed: {reason}")


class SideEffectDeniedError(PolicyError):
    recoverable = True

    def __init__(self, tool: str, reason: str = "not approved") -> None:
        self.tool = tool
        super().__init__(f"{tool} changes data and was denied: {reason}")


class CallError(ToolsError):
    def __init__(self, message: str, *, tool: str = "", url: str = "") -> None:
        self.tool = tool
        self.url = url
        super().__init__(message)


class CallTimeoutError(CallError):
    pass


class RetryAfterTooLongError(CallError):
    pass


class CircuitOpenError(CallError):
    pass


class ResponseTooLargeError(CallError):
    pass


class RedirectRefusedError(CallError):
    """The API answered with a redirect to a host the policy refuses; nothing was sent there.

    A ``CallError``, not a ``HostNotAllowedError``: the user's spec and server are fine, the
    API's answer is the problem, and the model can report it.
    """

    recoverable = True

    def __init__(self, message: str, *, host: str, tool: str = "", url: str = "") -> None:
        self.host = host
        super().__init__(message, tool=tool, url=url)
