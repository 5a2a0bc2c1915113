"""JSON Schema ``pattern`` matching with a time bound.

Owns matching the patterns of third-party specs against strings from the model (arguments)
and from servers (response bodies). Python's ``re`` backtracks without limit and runs in C,
where not even Ctrl-C reaches it: ``^(a+)+$`` against forty ``a`` and a ``!`` never ends, and
real specs hold plenty of nested quantifiers. Matching uses the ``regex`` package (re's syntax,
already installed as a dependency of tiktoken) with a timeout; a pattern that cannot be compiled
or a match that runs past the bound is "undecided" and the check is skipped: the API still
validates what it receives, and a call must never hang on a pattern.

``BoundedValidator`` is Draft 2020-12 with this ``pattern`` keyword and a decimal
``multipleOf`` (jsonschema divides floats: ``multipleOf: 1e-320`` overflows and rejects every
value, and ``0.3`` is not a multiple of ``0.1``); everything else is jsonschema's own.
"""

from __future__ import annotations

import decimal
import functools
import importlib
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

# Imported by name: the package ships no type stubs, and this module uses three of its names.
regex: Any = importlib.import_module("regex")

PATTERN_TIMEOUT_S = 0.1


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern)


def search(pattern: str, text: str) -> bool | None:
    """Whether ``pattern`` occurs in ``text`` (as ``re.search``); None when undecided."""
    try:
        compiled = _compiled(pattern)
    except (regex.error, TypeError, ValueError, OverflowError, RecursionError):
        return None
    try:
        return compiled.search(text, timeout=PATTERN_TIMEOUT_S) is not None
    except TimeoutError:
        return None


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if (
        isinstance(pattern, str)
        and validator.is_type(instance, "string")
        and search(pattern, instance) is False
    ):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _multiple_of(
    validator: Any, step: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number") or not validator.is_type(step, "number"):
        return
    if multiple(instance, step) is False:
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


def multiple(value: float, step: float) -> bool | None:
    """Whether ``value`` is a multiple of ``step``, in decimal as written; None if undecided."""
    try:
        number, unit = decimal.Decimal(repr(value)), decimal.Decimal(repr(step))
        if unit <= 0 or not number.is_finite():
            return None
        digits = abs(number.adjusted() - unit.adjusted()) + 30
        if digits > 2_000:  # a quotient that long is not worth computing
            return None
        with decimal.localcontext() as context:
            context.prec = digits
            return number % unit == 0
    except (decimal.InvalidOperation, ValueError):
        return None


BoundedValidator: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _pattern, "multipleOf": _multiple_of}
)
