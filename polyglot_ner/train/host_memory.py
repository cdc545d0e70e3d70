"""Keep freed host memory mapped: XLA's CPU runtime allocates every step's buffers afresh.

By default glibc gives large freed blocks back to the kernel (blocks over its mmap threshold, the
top of a heap past the trim threshold, one arena per thread), so every training step on a CPU
faults its tens of MB of activations into fresh zeroed pages again. Allocating from one arena
that never returns memory lets each step reuse the previous step's pages: the byte CRF's CPU
training step became ~30% faster (README, Benchmarks), what TensorFlow and PyTorch users get from
preloading tcmalloc. The process keeps its peak memory mapped instead of returning it between steps,
and compiling gets a little slower (XLA's compiler threads share the arena).
`polyglot-ner` calls `configure` before every command: this unless POLYGLOT_NER_KEEP_FREED_MEMORY=0.
"""

from __future__ import annotations

import ctypes
import os

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8


def keep_freed_memory() -> bool:
  """Sets glibc's allocator to keep freed memory; False off POSIX and where the C library has no
  `mallopt` (macOS) or ignores it (musl).

  Call it before JAX starts its threads (before the first computation): a thread that already has
  an arena of its own keeps it.
  """
  if os.name != "posix":
    return False
  mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
  if mallopt is None:
    return False
  settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1))
  return all([mallopt(option, value) == 1 for option, value in settings])


def configure() -> None:
  """What `polyglot-ner` does before every command: `keep_freed_memory()` unless the environment
  says POLYGLOT_NER_KEEP_FREED_MEMORY=0."""
  if os.environ.get("POLYGLOT_NER_KEEP_FREED_MEMORY", "1") != "0":
    keep_freed_memory()
