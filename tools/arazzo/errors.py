"""Errors of Arazzo workflows: a bad document, bad inputs, a step that cannot be evaluated.

Tree (under ``tools.errors``)::

    SpecError
    └── WorkflowDocumentError   the Arazzo document (or its binding to the sources) is wrong:
        │                       file + JSON pointer + what is wrong; ``problems`` lists them all
        └── WorkflowInputError  the inputs given for a workflow break its ``inputs`` schema
    ToolsError
    └── ExpressionError         a runtime expression cannot be parsed or evaluated

A step whose call fails or whose success criteria do not hold is a result (the run reports it,
exit 1), never one of these errors.
"""

from __future__ import annotations

from tools.errors import SpecError, ToolsError


class WorkflowDocumentError(SpecError):
    """One or more problems in a document. The message names the first; ``problems`` all."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        pointer, message = problems[0]
        more = len(problems) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(message, source=source, pointer=pointer)


class WorkflowInputError(WorkflowDocumentError):
    pass


class ExpressionError(ToolsError):
    """A runtime expression that does not parse, or whose value cannot be had."""

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"runtime expression {expression!r}: {reason}")
