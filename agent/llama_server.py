"""Entry point of the local model's server process: ``llama_cpp.server`` with one workaround.

Runs only in the child process that ``agent.local_model.LocalModelServer`` starts
(``python -m agent.llama_server ARGS``, the same arguments as ``python -m llama_cpp.server``);
nothing in Baton's own process imports it.

The workaround: llama.cpp's CPU "extra buffer types" (weight repacking for AMX/AVX-512 kernels)
crash with a segmentation fault in ``llama_decode`` on some virtual machines that advertise AMX
(observed here with llama-cpp-python 0.3.36 and the Q4_1 SmolLM2 weights). llama-cpp-python
does not expose ``use_extra_bufts``, so the model's default parameters are wrapped to turn it
off. For a 135M model the repacked kernels buy little. ``BATON_LLAMA_EXTRA_BUFTS=1`` keeps
llama.cpp's default.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from typing import Any

EXTRA_BUFTS_ENV = "BATON_LLAMA_EXTRA_BUFTS"


def _without_extra_buffer_types() -> None:
    import llama_cpp.llama_cpp as native

    default_params = native.llama_model_default_params

    def params() -> Any:
        value = default_params()
        value.use_extra_bufts = False
        return value

    native.llama_model_default_params = params


PARENT_ENV = "BATON_PARENT_PID"


def _exit_with_parent(interval_s: float = 1.0) -> None:
    """Stop when Baton's process is gone, however it ended.

    The server runs in its own session (so a Ctrl-C meant for the shell does not kill it); the
    price is that a SIGKILLed or SIGTERMed parent would leave it orphaned. Being reparented is
    the signal to leave. The parent names itself in ``BATON_PARENT_PID``, so a parent that died
    before this process started is noticed too.
    """
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(0)

    threading.Thread(target=watch, name="baton-parent-watch", daemon=True).start()


def main() -> None:
    _exit_with_parent()
    if os.environ.get(EXTRA_BUFTS_ENV) != "1":
        _without_extra_buffer_types()
    server: Any = importlib.import_module("llama_cpp.server.__main__")
    server.main()


if __name__ == "__main__":
    main()
