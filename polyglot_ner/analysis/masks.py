"""Top-k% parameter sets: a global ranking of every parameter, cut at several fractions at once.

A language's important set at fraction k is the round(k * n) parameters of highest importance among
all n parameters of the model (global, not per tensor: the ranking decides how much of each tensor
a language relies on). Ties are broken by position in the `Layout` (the earlier parameter wins), so
a mask is a pure function of the scores; this matters because many scores tie at exactly 0
(embedding rows of bytes a language never uses get no gradient). One sort serves every fraction.

Fractions are given as fractions of 1 (0.05 = the top 5%).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polyglot_ner import errors
from polyglot_ner.analysis import layout as layout_lib

DEFAULT_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2)


def check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
  """Sorted distinct fractions, or a UserError for an empty list or one outside (0, 1]."""
  fractions = tuple(sorted({float(k) for k in fractions}))
  bad = [k for k in fractions if not 0 < k <= 1]
  if bad or not fractions:
    raise errors.UserError(f"top-k fractions must lie in (0, 1] (0.05 is the top 5%), got "
                           f"{bad or '[]'}")
  return fractions


def count(fraction: float, size: int) -> int:
  """How many of `size` parameters the top `fraction` holds: round(fraction * size), halves up."""
  return int(np.floor(fraction * size + 0.5))


def order(scores: np.ndarray, *, largest: bool = True) -> np.ndarray:
  """Indices of `scores` from the highest (or, `largest=False`, lowest); ties by lower index."""
  scores = np.asarray(scores)
  if not np.all(np.isfinite(scores)):
    raise errors.UserError(f"{np.sum(~np.isfinite(scores))} importance scores are not finite "
                           "(NaN or inf): is the checkpoint diverged?")
  return np.argsort(-scores if largest else scores, kind="stable")


def ranks(scores: np.ndarray, *, largest: bool = True) -> np.ndarray:
  """The rank of every score (0 = most important, or least with `largest=False`)."""
  rank = np.empty(len(scores), np.int64)
  rank[order(scores, largest=largest)] = np.arange(len(scores))
  return rank


def top_k(scores: np.ndarray, fractions: Sequence[float], *,
          largest: bool = True) -> np.ndarray:
  """bool [len(fractions), n]: row j marks the top `fractions[j]` of the flat `scores`."""
  rank = ranks(scores, largest=largest)
  return np.stack([rank < count(k, len(rank)) for k in fractions])


def top_k_sets(importances: Mapping[str, Mapping[str, Any]], fractions: Sequence[float]
               ) -> tuple[layout_lib.Layout, np.ndarray]:
  """The layout of importance trees {name: tree} and their top-k sets, bool [K, trees, n] (a
  UserError naming a tree whose layout is not the first's)."""
  layout = layout_lib.Layout.of(next(iter(importances.values())))
  return layout, np.stack([top_k(layout.vector(tree, f"the importance of {name}"), fractions)
                           for name, tree in importances.items()], axis=1)


def random_scores(size: int, seed: int) -> np.ndarray:
  """Independent uniform scores: their ranking is a uniformly random one."""
  return np.random.default_rng(seed).random(size)


def top_k_masks(importance: Mapping[str, Any], fractions: Sequence[float], *,
                largest: bool = True) -> dict[float, dict[str, Any]]:
  """{fraction: bool tree marking the top (or, `largest=False`, bottom) fraction of parameters}."""
  fractions = check_fractions(fractions)
  layout = layout_lib.Layout.of(importance)
  selected = top_k(layout.vector(importance, "the importance"), fractions, largest=largest)
  return {k: layout.tree(row) for k, row in zip(fractions, selected)}
