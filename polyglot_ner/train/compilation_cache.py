"""JAX's persistent compilation cache for training runs, on by default.

A run compiles its train and decode steps once per batch shape (tens of seconds each on a CPU);
with the cache a rerun, a resumed run or the next seed of the same config loads them from disk.
The directory is `$JAX_COMPILATION_CACHE_DIR` (or `jax.config.jax_compilation_cache_dir`) when set,
else `$XDG_CACHE_HOME/polyglot_ner/jax` (default `~/.cache/polyglot_ner/jax`).
"""

from __future__ import annotations

import os
import pathlib

import jax


def default_dir() -> pathlib.Path:
  """The cache directory used when none is configured."""
  cache_home = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
  return pathlib.Path(cache_home) / "polyglot_ner" / "jax"


def enable() -> str:
  """Turns the persistent cache on (keeping a directory already configured); returns it."""
  if not jax.config.jax_compilation_cache_dir:
    jax.config.update("jax_compilation_cache_dir", os.fspath(default_dir()))
  return jax.config.jax_compilation_cache_dir
