"""What zeroing one language's important parameters does to every language's F1.

For each source language A and fraction k, A's top-k set is zeroed and `score(params)` ({language:
F1}) evaluated on every language: the language x language damage matrix (baseline F1 minus pruned
F1; row A, column B) and F1-vs-k curves. If the languages rely on shared parameters, pruning A's
set also hurts B; if on their own, the damage stays on the diagonal. Controls at the same k: a
random set (one per k, the same for every source) and A's least important set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from polyglot_ner import errors
from polyglot_ner.analysis import layout as layout_lib
from polyglot_ner.analysis import masks as masks_lib

CONTROLS = ("random", "least")
Score = Callable[[Any], Mapping[str, float]]


def apply_mask(params: Mapping[str, Any], mask: Mapping[str, Any]) -> dict[str, Any]:
  """`params` with every entry where `mask` is True set to zero (a pruned copy).

  `mask` is a bool tree of the parameters' layout, e.g. one of `masks.top_k_masks`; pass the
  negation (`jax.tree.map(np.logical_not, mask)`) to keep only the masked entries instead.
  """
  layout_lib.Layout.of(params).check(mask, "the mask")
  return jax.tree.map(lambda p, m: jnp.where(jnp.asarray(m, bool), jnp.zeros((), p.dtype), p),
                      params, mask)


@dataclasses.dataclass(frozen=True)
class Pruning:
  """F1 of every language with each source language's (or a control's) top-k set zeroed."""

  languages: tuple[str, ...]  # the evaluated languages (the keys of `score`'s result)
  sources: tuple[str, ...]  # the languages whose sets were zeroed
  fractions: tuple[float, ...]
  baseline: dict[str, float]  # F1 before pruning
  # {"control": "important" | "least" | "random", "source": a language (None for random),
  #  "fraction": k, "scores": {language: F1}}
  rows: tuple[dict[str, Any], ...]

  def scores(self, control: str, source: str | None, fraction: float) -> dict[str, float]:
    """F1 per language after zeroing `source`'s `control` set at `fraction`."""
    for row in self.rows:
      if (row["control"], row["source"], row["fraction"]) == (control, source, fraction):
        return row["scores"]
    raise KeyError((control, source, fraction))

  def damage(self, fraction: float, control: str = "important") -> np.ndarray:
    """[sources, languages]: baseline F1 minus F1 after zeroing each source's set at `fraction`."""
    sources = [None] if control == "random" else self.sources
    return np.array([[self.baseline[lang] - self.scores(control, source, fraction)[lang]
                      for lang in self.languages] for source in sources])


def _checked(scores: Mapping[str, float], languages: Sequence[str] | None) -> dict[str, float]:
  scores = {lang: float(f1) for lang, f1 in scores.items()}
  if languages is not None and list(scores) != list(languages):
    raise ValueError(f"score() returned languages {list(scores)}, before {list(languages)}")
  return scores


def pruning(params: Mapping[str, Any], importances: Mapping[str, Mapping[str, Any]],
            score: Score, fractions: Sequence[float], *, controls: Sequence[str] = CONTROLS,
            seed: int = 0, progress: bool = True) -> Pruning:
  """Prunes each language's top-k set of `importances` ({language: tree}) from `params` and scores.

  `score(params) -> {language: F1}` evaluates every language; it runs
  1 + len(fractions) * (len(importances) * (1 + "least" in controls) + "random" in controls) times.
  """
  fractions = masks_lib.check_fractions(fractions)
  unknown = sorted(set(controls) - set(CONTROLS))
  if unknown:
    raise errors.UserError(f"pruning controls {unknown} are not among {list(CONTROLS)}")
  layout = layout_lib.Layout.of(params)
  jobs = []  # (control, source, flat scores ranked highest first)
  for lang, tree in importances.items():
    vector = layout.vector(tree, f"the importance of {lang}")
    jobs.append(("important", lang, vector))
    if "least" in controls:
      jobs.append(("least", lang, -vector))
  if "random" in controls:
    jobs.append(("random", None, masks_lib.random_scores(layout.size, seed)))
  with tqdm.tqdm(total=1 + len(jobs) * len(fractions), unit="eval", desc="pruning",
                 disable=not progress, dynamic_ncols=True) as bar:
    baseline = _checked(score(params), None)
    bar.update(1)
    rows = []
    for control, source, vector in jobs:
      for fraction, selected in zip(fractions, masks_lib.top_k(vector, fractions)):
        scores = _checked(score(apply_mask(params, layout.tree(selected))), list(baseline))
        rows.append({"control": control, "source": source, "fraction": fraction,
                     "scores": scores})
        bar.update(1)
  return Pruning(tuple(baseline), tuple(importances), fractions, baseline, tuple(rows))
