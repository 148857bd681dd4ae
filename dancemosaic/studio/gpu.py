"""``@gpu``: Hugging Face ZeroGPU's ``spaces.GPU`` where the ``spaces`` package is installed, a no-op
elsewhere (``spaces.GPU`` itself is a no-op off ZeroGPU hardware).

On ZeroGPU the decorated function runs with a GPU attached for its duration, so only the engine
work is wrapped: it returns new dances and never touches session state, which stays in the main
process. Video rendering stays outside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:
    import spaces
except ImportError:
    spaces = None


def gpu(fn: F) -> F:
    return fn if spaces is None else spaces.GPU(fn)
