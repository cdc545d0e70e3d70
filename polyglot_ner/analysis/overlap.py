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
trained monolingual models (each its own language's importance) as a baseline. `seeds` compares
monolingual models of several seeds pair by pair, to tell a shared initialisation from language.
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

POLYGLOT, MONO = "polyglot", "mono"  # the settings: one polyglot model, monolingual models


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


def jaccard(selected: np.ndarray) -> np.ndarray:
  """[R, R]: the Jaccard of every pair of the bool sets `selected` [R, n] (a set with itself: 1,
  NaN where both sets are empty)."""
  selected = np.asarray(selected, bool)
  sizes = selected.sum(1)
  matrix = np.ones((len(selected), len(selected)))
  for a, b in itertools.combinations(range(len(selected)), 2):
    common = np.count_nonzero(selected[a] & selected[b])
    matrix[a, b] = matrix[b, a] = ratio(common, sizes[a] + sizes[b] - common)
  matrix[np.diag_indices(len(selected))] = [1.0 if size else math.nan for size in sizes]
  return matrix


def sharing(selected: np.ndarray, fraction: float) -> Sharing:
  """The statistics of bool sets `selected` [L, n] (row l: language l's set at `fraction`)."""
  selected = np.asarray(selected, bool)
  languages = len(selected)
  sizes = selected.sum(1)
  per_param = selected.sum(0)
  shared = np.array([ratio(np.count_nonzero(row & (per_param == languages)), size)
                     for row, size in zip(selected, sizes)])
  only = np.array([ratio(np.count_nonzero(row & (per_param == 1)), size)
                   for row, size in zip(selected, sizes)])
  histogram = np.bincount(per_param, minlength=languages + 1) / max(selected.shape[1], 1)
  return Sharing(fraction, jaccard(selected), shared, only, histogram)


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
            setting: str = POLYGLOT, method: str = "fisher", seed: int = 0) -> Overlap:
  """The overlap of the languages' top-k sets for every fraction, with its chance levels.

  `importances` is {language: importance tree}; all trees must share one layout. `seed` fixes the
  random rankings of the empirical chance level.
  """
  fractions = masks_lib.check_fractions(fractions)
  if not importances:
    raise errors.UserError(f"{setting}: no language to compare")
  languages = tuple(importances)
  layout, selected = masks_lib.top_k_sets(
      {f"{lang} ({setting})": tree for lang, tree in importances.items()}, fractions)
  random = np.stack([masks_lib.top_k(masks_lib.random_scores(layout.size, seed + j), fractions)
                     for j in range(len(languages))], axis=1)
  return Overlap(
      setting, method, languages, fractions,
      tuple(sharing(selected[i], k) for i, k in enumerate(fractions)),
      tuple(sharing(random[i], k) for i, k in enumerate(fractions)),
      tuple(row for i, k in enumerate(fractions)
            for row in _tensor_rows(layout, languages, k, selected[i])))


# What two separately trained models of the seeds baseline share (`Seeds`), and the pairs a
# polyglot model's overlap compares with: those that share neither data nor initialisation.
PAIRS = {"same_language": "one language, other seeds",
         "same_seed": "other languages, one seed",
         "neither": "other languages, other seeds"}
BASELINE = "neither"


@dataclasses.dataclass(frozen=True)
class Seeds:
  """The Jaccard of separately trained models' top-k sets, pair by pair, by what the two runs
  share (PAIRS): their language, or their seed (and so their initialisation, tensor by tensor
  where the shapes agree), or neither. Two monolingual models of one seed may overlap because
  they started from the same parameters rather than because their languages need the same ones;
  models of other seeds and languages share neither, the baseline of a polyglot model's overlap."""

  method: str
  runs: tuple[tuple[str, int], ...]  # (language, seed) of each model
  fractions: tuple[float, ...]
  jaccard: np.ndarray  # [K, R, R]

  def pairs(self, kind: str) -> list[tuple[int, int]]:
    """The pairs (i < j) of runs that share what `kind` (one of PAIRS) says."""
    if kind not in PAIRS:
      raise ValueError(f"pair kind {kind!r} is not one of {list(PAIRS)}")
    found = []
    for (i, (lang_a, seed_a)), (j, (lang_b, seed_b)) in itertools.combinations(
        enumerate(self.runs), 2):
      shares = ("same_language" if lang_a == lang_b else
                "same_seed" if seed_a == seed_b else "neither")
      if shares == kind:
        found.append((i, j))
    return found

  def mean(self, kind: str) -> np.ndarray:
    """[K]: the mean Jaccard of the pairs of `kind` (NaN without such pairs)."""
    pairs = self.pairs(kind)
    return np.array([nanmean([matrix[i, j] for i, j in pairs]) for matrix in self.jaccard])


def seeds(importances: Mapping[tuple[str, int], Mapping[str, Any]], fractions: Sequence[float],
          *, method: str = "fisher") -> Seeds:
  """The pairwise Jaccard of the top-k sets of models {(language, seed): importance tree} (each
  model's importance on its own language), for every fraction."""
  fractions = masks_lib.check_fractions(fractions)
  if len(importances) < 2:
    raise errors.UserError("the seeds baseline needs two or more models")
  _, selected = masks_lib.top_k_sets(
      {f"{lang} (seed {s})": tree for (lang, s), tree in importances.items()}, fractions)
  return Seeds(method, tuple(importances), fractions,
               np.stack([jaccard(sets) for sets in selected]))
