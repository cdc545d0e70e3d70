"""Jitted programs (and traced parameter shapes) shared by every run of one process.

JAX caches a jitted function's traces and executables on the function object, so a step built as
a fresh closure per run is traced, lowered and loaded again by every run of an experiment, every
fine-tune and every test of a pytest worker, even when the persistent compilation cache spares the
XLA compile. Builders of steps ask `shared` for them instead, keyed by everything the traced
function reads (a kind's `trace_key`, the optimiser, the mesh), so equal runs reuse one program.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

_PROGRAMS: dict[Hashable, Any] = {}


def shared(key: Hashable, build: Callable[[], Any]) -> Any:
  """`build()`, once per `key` in this process; a key that cannot be hashed builds afresh."""
  try:
    return _PROGRAMS[key]
  except TypeError:  # unhashable: nothing to share
    return build()
  except KeyError:
    program = _PROGRAMS[key] = build()
    return program
