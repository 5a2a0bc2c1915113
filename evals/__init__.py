"""Baton's offline evals: cases, record/replay transports, scoring."""

__all__: list[str] = []
