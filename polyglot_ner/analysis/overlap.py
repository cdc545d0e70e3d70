"""How much the languages' important parameter sets overlap, globally and per tensor, vs chance.

For each fraction k, S_l is language l's top-k set (`masks`). The statistics:

* the pairwise Jaccard matrix |S_l & S_m| / |S_l | S_m| (a language with itself: 1);
* per language, the fraction of S_l important to every language, and to l alone;
* the fraction of all parameters important to exactly j languages, j = 0..L; from it, of the
  parameters important to some language, the fractions important to all and to exactly one.

Chance is two ways: the closed form for independent random sets of density k (Jaccard k / (2 - k),
important to all k^(L-1), to l alone (1 - k)^(L-1), exactly j languages Binomial(L, k)), and the
same statistics measured on independent random rankings (a check of the closed form at this n).
Per tensor, the Jaccard also gets the chance level given how much of that tensor each language
selected (densities q_l, q_m: q_l q_m / (q_l + q_m - q_l q_m)), since a ranking that concentrates
on a tensor makes overlap there likely by density alone.

The same function serves the polyglot model (one model, each language's data) and the separately
trained monolingual models (each its own language's importance) as a baseline.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polyglot_ner import errors
from polyglot_ner.analysis import layout as layout_lib
from polyglot_ner.analysis import masks as masks_lib


@dataclasses.dataclass(frozen=True)
class Sharing:
  """Overlap of the languages' selected sets at one fraction (over all parameters or a slice)."""

  fraction: float
  jaccard: np.ndarray  # [L, L]; NaN where both sets are empty
  shared_by_all: np.ndarray  # [L]: of S_l, the fraction in every language's set
  only_one: np.ndarray  # [L]: of S_l, the fraction in no other language's set
  languages_per_param: np.ndarray  # [L + 1]: fraction of the parameters in exactly j sets

  @property
  def mean_jaccard(self) -> float:
    """The mean Jaccard over pairs of distinct languages (NaN for one language)."""
    return nanmean(self.jaccard[~np.eye(len(self.jaccard), dtype=bool)])

  @property
  def union(self) -> float:
    """The fraction of parameters important to at least one language."""
    return float(1 - self.languages_per_param[0])

  @property
  def all_of_union(self) -> float:
    """Of the parameters important to some language, the fraction important to all."""
    return ratio(self.languages_per_param[-1], self.union)

  @property
  def one_of_union(self) -> float:
    """Of the parameters important to some language, the fraction important to exactly one."""
    return ratio(self.languages_per_param[1], self.union)


def ratio(a: float, b: float) -> float:
  """a / b, NaN when b is 0 (an empty set has no fractions)."""
  return float(a / b) if b else math.nan


def nanmean(values: Any) -> float:
  """The mean of the values that are not NaN (NaN if there is none)."""
  values = np.asarray(values, float)
  values = values[~np.isnan(values)]
  return float(values.mean()) if values.size else math.nan


def sharing(selected: np.ndarray, fraction: float) -> Sharing:
  """The statistics of bool sets `selected` [L, n] (row l: language l's set at `fraction`)."""
  selected = np.asarray(selected, bool)
  languages = len(selected)
  sizes = selected.sum(1)
  jaccard = np.ones((languages, languages))
  for a, b in itertools.combinations(range(languages), 2):
    common = np.count_nonzero(selected[a] & selected[b])
    jaccard[a, b] = jaccard[b, a] = ratio(common, sizes[a] + sizes[b] - common)
  jaccard[np.diag_indices(languages)] = [1.0 if size else math.nan for size in sizes]
  per_param = selected.sum(0)
  shared = np.array([ratio(np.count_nonzero(row & (per_param == languages)), size)
                     for row, size in zip(selected, sizes)])
  only = np.array([ratio(np.count_nonzero(row & (per_param == 1)), size)
                   for row, size in zip(selected, sizes)])
  histogram = np.bincount(per_param, minlength=languages + 1) / max(selected.shape[1], 1)
  return Sharing(fraction, jaccard, shared, only, histogram)


def expected(fraction: float, languages: int) -> Sharing:
  """The closed-form statistics of independent random sets of density `fraction`."""
  k = fraction
  jaccard = np.full((languages, languages), k / (2 - k))
  np.fill_diagonal(jaccard, 1.0)
  histogram = np.array([math.comb(languages, j) * k**j * (1 - k)**(languages - j)
                        for j in range(languages + 1)])
  return Sharing(k, jaccard, np.full(languages, k**(languages - 1)),
                 np.full(languages, (1 - k)**(languages - 1)), histogram)


def chance_jaccard(q_a: float, q_b: float) -> float:
  """The Jaccard of independent random sets of densities q_a and q_b (NaN if both are empty)."""
  return ratio(q_a * q_b, q_a + q_b - q_a * q_b)


@dataclasses.dataclass(frozen=True)
class Overlap:
  """The overlap of one setting's (e.g. "polyglot" or "mono") importance under one method."""

  setting: str
  method: str
  languages: tuple[str, ...]
  fractions: tuple[float, ...]
  observed: tuple[Sharing, ...]  # one per fraction
  random: tuple[Sharing, ...]  # the same statistics on independent random rankings
  tensors: tuple[dict[str, Any], ...]  # one row per (tensor, fraction)

  def expected(self, fraction: float) -> Sharing:
    """The closed-form chance statistics at `fraction`."""
    return expected(fraction, len(self.languages))

  def at(self, fraction: float) -> Sharing:
    """The observed statistics at `fraction` (one of `fractions`)."""
    return self.observed[self.fractions.index(fraction)]


def _tensor_rows(layout: layout_lib.Layout, languages: Sequence[str], fraction: float,
                 selected: np.ndarray) -> list[dict[str, Any]]:
  rows = []
  for path, part in layout.slices().items():
    stats = sharing(selected[:, part], fraction)
    density = selected[:, part].mean(1) if part.stop > part.start else np.zeros(len(languages))
    chance = [chance_jaccard(density[a], density[b])
              for a, b in itertools.combinations(range(len(languages)), 2)]
    rows.append({
        "tensor": path, "fraction": fraction, "size": part.stop - part.start,
        **{f"selected_{lang}": float(q) for lang, q in zip(languages, density)},
        "mean_jaccard": stats.mean_jaccard,
        "mean_jaccard_chance": nanmean(chance),
        "all_of_union": stats.all_of_union, "one_of_union": stats.one_of_union})
  return rows


def overlap(importances: Mapping[str, Mapping[str, Any]], fractions: Sequence[float], *,
            setting: str = "polyglot", method: str = "fisher", seed: int = 0) -> Overlap:
  """The overlap of the languages' top-k sets for every fraction, with its chance levels.

  `importances` is {language: importance tree}; all trees must share one layout. `seed` fixes the
  random rankings of the empirical chance level.
  """
  fractions = masks_lib.check_fractions(fractions)
  if not importances:
    raise errors.UserError(f"{setting}: no language to compare")
  languages = tuple(importances)
  layout = layout_lib.Layout.of(importances[languages[0]])
  selected = np.stack([masks_lib.top_k(layout.vector(tree, f"the {setting} importance of {lang}"),
                                       fractions) for lang, tree in importances.items()], axis=1)
  random = np.stack([masks_lib.top_k(masks_lib.random_scores(layout.size, seed + j), fractions)
                     for j in range(len(languages))], axis=1)
  return Overlap(
      setting, method, languages, fractions,
      tuple(sharing(selected[i], k) for i, k in enumerate(fractions)),
      tuple(sharing(random[i], k) for i, k in enumerate(fractions)),
      tuple(row for i, k in enumerate(fractions)
            for row in _tensor_rows(layout, languages, k, selected[i])))
