"""Language mixtures: which languages a polyglot run trains on, and how often each is drawn.

A mixture is a `{corpus/lang: weight}` mapping (big_vision style); weight 0 drops a language. The
order of the remaining names is the run's language list: a language's index in it is the `lang`
id carried by every batch row. Three sampling modes set the target probability of each language
(n = its number of training sentences, w = its weight):

* "proportional": p ∝ n·w. With equal weights this is the paper's plain concatenation.
* "uniform": p ∝ w, whatever the sizes.
* "alpha": temperature sampling, p ∝ n^alpha·w (alpha=1 is proportional, alpha=0 uniform).

An epoch is as many draws as the concatenation has sentences. Each language gets a fixed quota of
those draws (the largest-remainder rounding of N·p), the quotas are interleaved in a seeded random
order, and each language's draws walk through reshuffled passes over its sentences, continuing
across epochs, so that every sentence of a language is seen before any repeats. Every position of
the epoch therefore holds language l with probability p_l, the epoch's proportions equal the
targets up to rounding, and everything is a pure function of (seed, epoch): no state to replay.
With equal weights, "proportional" reduces to one shuffled pass over the concatenation.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence

import numpy as np

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import corpora

MODES = ("proportional", "uniform", "alpha")

# Stream tags that keep the seeded generators of different purposes independent.
_LANGUAGE_ORDER_STREAM = 0
_SENTENCE_PASS_STREAM = 1


def mixture_probabilities(sizes: Sequence[int], weights: Sequence[float],
                          mode: str = "proportional", alpha: float = 1.0) -> np.ndarray:
  """Target probability of drawing each language, given its sentence count and weight."""
  sizes = np.asarray(sizes, dtype=np.float64)
  weights = np.asarray(weights, dtype=np.float64)
  if sizes.shape != weights.shape or sizes.ndim != 1 or not len(sizes):
    raise ValueError(f"need one size per weight, got sizes {sizes.shape} and weights "
                     f"{weights.shape}")
  if np.any(sizes < 0) or np.any(weights < 0) or not np.all(np.isfinite(weights)):
    raise ValueError(f"sizes and weights must be finite and non-negative: {sizes}, {weights}")
  if mode == "proportional":
    mass = sizes * weights
  elif mode == "uniform":
    mass = np.where(sizes > 0, weights, 0.0)
  elif mode == "alpha":
    if not math.isfinite(alpha) or alpha < 0:
      raise errors.UserError(f"alpha must be finite and >= 0, got {alpha}")
    mass = np.where(sizes > 0, sizes ** alpha, 0.0) * weights
  else:
    raise errors.UserError(f"unknown mixture mode {mode!r}; expected one of {MODES}")
  total = mass.sum()
  if total <= 0:
    raise errors.UserError(f"mixture has no mass: sizes {sizes.tolist()}, weights {weights.tolist()}")
  return mass / total


def apportion(total: int, probabilities: np.ndarray) -> np.ndarray:
  """Integer counts summing to `total` closest to total·p (largest remainder; ties: lower index)."""
  exact = total * np.asarray(probabilities, dtype=np.float64)
  counts = np.floor(exact).astype(np.int64)
  shortfall = total - int(counts.sum())
  order = np.argsort(-(exact - counts), kind="stable")
  counts[order[:shortfall]] += 1
  return counts


class Mixture:
  """A `{corpus/lang: weight}` mixture with its sampling mode; weight-0 languages are dropped."""

  def __init__(self, weights: Mapping[str, float], mode: str = "proportional", alpha: float = 1.0):
    if mode not in MODES:
      raise errors.UserError(f"unknown mixture mode {mode!r}; expected one of {MODES}")
    for name, weight in weights.items():
      if not isinstance(weight, numbers.Real) or not math.isfinite(weight) or weight < 0:
        raise errors.UserError(f"mixture weight of {name!r} must be a finite number >= 0, got {weight!r}")
    self.weights = {name: float(weight) for name, weight in weights.items() if weight > 0}
    if not self.weights:
      raise errors.UserError(f"mixture {dict(weights)} has no language with a positive weight")
    if not math.isfinite(alpha) or alpha < 0:
      raise errors.UserError(f"mixture alpha must be finite and >= 0, got {alpha}")
    self.mode = mode
    self.alpha = float(alpha)

  @property
  def names(self) -> tuple[str, ...]:
    """The run's language list; a name's position is its `lang` id in batches."""
    return tuple(self.weights)

  def index(self, name: str) -> int:
    """The `lang` id of a language of this mixture."""
    try:
      return self.names.index(name)
    except ValueError:
      raise KeyError(f"{name!r} is not in the mixture {self.names}") from None

  def probabilities(self, sizes: Sequence[int]) -> np.ndarray:
    """Target probability of each language (in `names` order) given its training-set size."""
    self._check_sizes(sizes)
    return mixture_probabilities(sizes, list(self.weights.values()), self.mode, self.alpha)

  def quotas(self, sizes: Sequence[int]) -> np.ndarray:
    """Draws of each language per epoch; they sum to the size of the concatenation."""
    return apportion(int(np.sum(sizes)), self.probabilities(sizes))

  def epoch_order(self, sizes: Sequence[int], seed: int, epoch: int) -> np.ndarray:
    """The epoch's draws as an int64 array [N, 2] of (language index, sentence index)."""
    quotas = self.quotas(sizes)
    languages = np.repeat(np.arange(len(quotas)), quotas)
    np.random.default_rng([seed, epoch, _LANGUAGE_ORDER_STREAM]).shuffle(languages)
    order = np.empty((len(languages), 2), dtype=np.int64)
    order[:, 0] = languages
    for lang, (size, quota) in enumerate(zip(sizes, quotas)):
      order[languages == lang, 1] = _cyclic_draws(seed, lang, int(size), epoch * quota, quota)
    return order

  def load(self, split: str, root: str | os.PathLike | None = None, *,
           type_map: Mapping[str, str] | None = None) -> dict[str, list[conll.Sentence]]:
    """Each language's sentences of one split, kept separate (dev/test are scored per language)."""
    return {name: corpora.load_split(name, split, root, type_map=type_map) for name in self.names}

  def _check_sizes(self, sizes: Sequence[int]):
    if len(sizes) != len(self.weights):
      raise ValueError(f"got {len(sizes)} sizes for the {len(self.weights)} languages {self.names}")
    for name, size in zip(self.names, sizes):
      if size <= 0:
        raise errors.UserError(f"language {name!r} has weight {self.weights[name]} but no sentences")

  def __repr__(self) -> str:
    return f"Mixture({self.weights}, mode={self.mode!r}, alpha={self.alpha})"


def _cyclic_draws(seed: int, lang: int, size: int, start: int, count: int) -> np.ndarray:
  """Sentence indices of draws start..start+count-1 of a language over reshuffled passes."""
  draws = np.arange(start, start + count)
  passes = draws // size
  indices = np.empty(count, dtype=np.int64)
  for pass_ in np.unique(passes):
    rng = np.random.default_rng([seed, lang, int(pass_), _SENTENCE_PASS_STREAM])
    permutation = rng.permutation(size)
    selected = passes == pass_
    indices[selected] = permutation[draws[selected] % size]
  return indices
