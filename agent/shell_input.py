"""The shell's line editor: prompt_toolkit session, persistent history, completion, keys.

Owns reading what the person types. Enter sends the input; Esc then Enter (or Alt+Enter), or a
line ending in a backslash, starts a new line instead, so multi-line tasks and JSON can be
typed or pasted. History persists in ``$BATON_HOME/history`` (else
``~/.local/share/baton/history``, next to the run store). Completion covers slash commands,
tool names after ``/describe`` and ``/call``, and paths after ``/spec add``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from agent.runstore import default_path

TOOL_ARG_COMMANDS = ("/describe", "/call")


def history_path() -> Path:
    return default_path().parent / "history"


class ShellCompleter(Completer):
    """Slash commands, then tool names or paths depending on the command."""

    def __init__(
        self, commands: Mapping[str, str], tool_names: Callable[[], Iterable[str]]
    ) -> None:
        self._commands = commands  # name -> one-line help
        self._tool_names = tool_names
        self._paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        if " " not in text:
            for name, help_text in self._commands.items():
                if name.startswith(text):
                    yield Completion(name, -len(text), display_meta=help_text)
            return
        command, _, rest = text.partition(" ")
        if command in TOOL_ARG_COMMANDS and " " not in rest:
            for name in self._tool_names():
                if name.startswith(rest):
                    yield Completion(name, -len(rest))
        elif command == "/spec":
            if " " not in rest and "add".startswith(rest):
                yield Completion("add", -len(rest))
            elif rest.startswith("add "):
                sub = Document(rest[4:], cursor_position=len(rest) - 4)
                yield from self._paths.get_completions(sub, complete_event)


def _key_bindings() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    ends_with_backslash = Condition(
        lambda: _current_text().endswith("\\") and not _current_text().endswith("\\\\")
    )

    @keys.add("enter", filter=ends_with_backslash)
    def _continue(event: KeyPressEvent) -> None:
        event.current_buffer.delete_before_cursor(1)
        event.current_buffer.insert_text("\n")

    return keys


def _current_text() -> str:
    from prompt_toolkit.application import get_app

    return get_app().current_buffer.document.text_before_cursor


def _continuation(width: int, line_number: int, wrap_count: int) -> str:
    return "… ".rjust(width)


def make_session(completer: Completer, *, history: Path | None = None) -> PromptSession[str]:
    path = history or history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # What people type includes /call arguments: readable by its owner only, like the run store.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    return PromptSession(
        history=FileHistory(str(path)),
        completer=completer,
        complete_while_typing=False,  # Tab completes; typing a task stays undisturbed
        key_bindings=_key_bindings(),
        multiline=False,
        prompt_continuation=_continuation,
        enable_history_search=False,
    )
