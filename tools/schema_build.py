"""Assembling one self-contained JSON Schema from converted parts: the per-tool ``$defs``.

Owns which referenced components a tool's schema reaches and how each appears: a component
referenced once and not part of a cycle is inlined (easier for a model to read); one that is
recursive or used several times stays in ``$defs`` under ``#/$defs/Name`` (nothing loops and
the size stays linear in the spec). Only the components a schema reaches are included.

The walk over components is iterative (no recursion limit on deep chains); copying inlined
bodies recurses only as deep as the inlining, which is capped.
"""

from __future__ import annotations

from collections.abc import Iterable

from tools.model import JSONObject, JSONValue
from tools.schemas import DEFS_PREFIX, Converted, SchemaConverter

# Inlining deeper than this keeps the component in $defs instead (bounded recursion).
_MAX_INLINE_DEPTH = 40


class Assembler:
    """Builds schemas with ``$defs`` for one mode (request or response) of one spec."""

    def __init__(self, converter: SchemaConverter, *, request: bool) -> None:
        self.converter = converter
        self.request = request
        self._aliases: dict[str, str] = {}
        self._def_bodies: dict[str, tuple[JSONValue]] = {}
        self._edges: dict[str, list[str]] = {}
        self._on_cycle: dict[str, bool] = {}

    def build(
        self, root: JSONValue, root_refs: Iterable[str], shared: Iterable[JSONValue] = ()
    ) -> JSONValue:
        """``root`` (a converted schema) with its placeholders inlined or moved to ``$defs``.

        ``shared`` are nodes inside ``root`` known to hold no placeholder: used as they are.
        Raises ``RefError`` when a reachable reference has no target.
        """
        roots = [self.canonical(n) for n in root_refs]
        order, edges = self._reach(roots)
        counts: dict[str, int] = dict.fromkeys(order, 0)
        for name in roots:
            counts[name] += 1
        for name in order:
            for target in edges[name]:
                counts[target] += 1
        cyclic = self._cyclic(order, edges)
        # Inline only what hangs off the root once: def bodies then never change per tool,
        # so they are shared between tools instead of copied (Graph has 11k tools).
        inline: set[str] = set()
        todo = [n for n in roots if counts[n] == 1 and n not in cyclic]
        while todo:
            name = todo.pop()
            inline.add(name)
            todo.extend(t for t in edges[name] if counts[t] == 1 and t not in cyclic)
        emitter = _Emitter(self, inline)
        emitter.shared = {id(n) for n in shared}
        out = emitter.emit(root, 0)
        defs: JSONObject = {}
        pending = emitter.pending
        while pending:
            name = pending.pop()
            if name not in defs:
                defs[name] = self.def_body(name)
                pending.extend(edges[name] if name in edges else self._targets(name))
        if defs and isinstance(out, dict):
            out["$defs"] = dict(sorted(defs.items()))
        return out

    def body(self, name: str) -> JSONValue:
        converted = self.converter.component(name, request=self.request)
        target = _pure_alias(converted)
        if target is not None and self.canonical(target) == name:
            return {}  # a loop of pure aliases constrains nothing
        return converted.schema

    def def_body(self, name: str) -> JSONValue:
        """A component's ``$defs`` entry: refs to aliases redirected; shared, never copied
        per tool (treat tool schemas as immutable)."""
        hit = self._def_bodies.get(name)
        if hit is None:
            body = self.body(name)
            refs = self.converter.component(name, request=self.request).refs
            if any(self.canonical(r) != r for r in refs):
                body = _Emitter(self, set()).emit(body, 0)
            hit = self._def_bodies[name] = (body,)
        return hit[0]

    def _cyclic(self, order: list[str], edges: dict[str, list[str]]) -> set[str]:
        """The components of ``order`` that lie on a cycle.

        Being on a cycle is a property of the whole spec's graph, and ``order`` is closed
        under reachability, so results are remembered and only new components are examined.
        """
        fresh = [n for n in order if n not in self._on_cycle]
        if fresh:
            found = _cyclic(
                fresh, {n: [t for t in edges[n] if t not in self._on_cycle] for n in fresh}
            )
            for name in fresh:
                self._on_cycle[name] = name in found
        return {n for n in order if self._on_cycle[n]}

    def _targets(self, name: str) -> list[str]:
        hit = self._edges.get(name)
        if hit is None:
            converted = self.converter.component(name, request=self.request)
            hit = [] if _pure_alias(converted) else [self.canonical(r) for r in converted.refs]
            self._edges[name] = hit
        return hit

    def canonical(self, name: str) -> str:
        """Follow pure aliases (a component that is only ``{"$ref": ...}``) to their end.

        A loop of pure aliases describes nothing; it resolves to a component whose body is
        replaced by ``{}`` (any value) in ``_Emitter``.
        """
        hit = self._aliases.get(name)
        if hit is not None:
            return hit
        seen = [name]
        current = name
        while True:
            body = self.converter.component(current, request=self.request)
            target = _pure_alias(body)
            if target is None or target in seen:
                break
            seen.append(target)
            current = target
        for n in seen:
            self._aliases[n] = current
        return current

    def _reach(self, roots: list[str]) -> tuple[list[str], dict[str, list[str]]]:
        order: list[str] = []
        edges: dict[str, list[str]] = {}
        todo = list(dict.fromkeys(roots))
        seen = set(todo)
        while todo:
            name = todo.pop()
            order.append(name)
            targets = self._targets(name)
            edges[name] = targets
            for target in targets:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return order, edges


class _Emitter:
    def __init__(self, assembler: Assembler, inline: set[str]) -> None:
        self.assembler = assembler
        self.inline = inline
        self.pending: list[str] = []
        self.shared: set[int] = set()
        self._done: set[str] = set()

    def emit(self, node: JSONValue, depth: int) -> JSONValue:
        if isinstance(node, dict):
            if id(node) in self.shared:
                return node
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(DEFS_PREFIX):
                return self._placeholder(node, ref[len(DEFS_PREFIX) :], depth)
            return {k: self.emit(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [self.emit(v, depth) for v in node]
        return node

    def _placeholder(self, node: JSONObject, name: str, depth: int) -> JSONValue:
        name = self.assembler.canonical(name)
        body = self.assembler.body(name)
        rest = {k: self.emit(v, depth) for k, v in node.items() if k != "$ref"}
        if name in self.inline and name not in self._done and depth < _MAX_INLINE_DEPTH:
            self._done.add(name)
            converted = self.assembler.converter.component(name, request=self.assembler.request)
            # A body without placeholders is shared as is: no copy per tool.
            inner = body if not converted.refs else self.emit(body, depth + 1)
            if not rest:
                return inner
            if isinstance(inner, dict):
                return {**inner, **rest}
            return {"allOf": [inner], **rest}
        self.pending.append(name)
        return {"$ref": DEFS_PREFIX + name, **rest}


def _pure_alias(converted: Converted) -> str | None:
    schema = converted.schema
    if isinstance(schema, dict) and len(schema) == 1 and isinstance(schema.get("$ref"), str):
        ref: str = schema["$ref"]
        if ref.startswith(DEFS_PREFIX):
            return ref[len(DEFS_PREFIX) :]
    return None


def _cyclic(order: list[str], edges: dict[str, list[str]]) -> set[str]:
    """Nodes on a cycle (Tarjan's SCCs, iterative): strongly connected with >1 node or a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: set[str] = set()
    counter = 0
    for start in order:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1 or node in targets:
                    result.update(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result
