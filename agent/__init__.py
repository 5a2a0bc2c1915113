"""Baton's agent layer: LLM clients, the planner loop, the shell and the CLI."""

__all__: list[str] = []
