"""Which parameters fine-tuning moves, and how important they are to each language.

A child fine-tuned from the polyglot parent moves parameter i by (`measure`):

  relative   |theta_child - theta_parent| / (|theta_parent| + eps)   the default (the issue's)
  absolute   |theta_child - theta_parent|                            research-notes §6 step 5

The relative change favours parameters near 0 in the parent, the absolute one parameters that
are large or sit where gradients are large. M_k, the top-k most-moved set, is compared with each
language's top-k important set S_l (the parent's importance on l's data):

* `in_important` |M_k & S_l| / |M_k|: chance (a random M_k) is k;
* `percentile`: the mean importance percentile for l of the parameters in M_k (1 = most
  important, 0 = least); chance 0.5;
* `shared_moved` |M_k & A_k| / |A_k|, A_k the parameters important to every language at k: how
  many of the shared parameters fine-tuning moves; chance k;
* `moved_shared` |M_k & A_k| / |M_k|: how much of the movement falls on shared parameters;
  chance |A_k| / n.

Per tensor: the mean and median change, and how much of the tensor M_k takes. `eps` keeps the
relative change of parameters at 0 in the parent finite; such parameters (biases, untouched
embedding rows) move the most relatively whenever they move at all, which the per-tensor table
shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polyglot_ner import errors
from polyglot_ner.analysis import layout as layout_lib
from polyglot_ner.analysis import masks as masks_lib
from polyglot_ner.analysis import overlap as overlap_lib

DEFAULT_EPS = 1e-8
MEASURES = ("relative", "absolute")
DEFAULT_MEASURE = "relative"


def check_measure(measure: str) -> str:
  """`measure`, or a UserError when it is not one of MEASURES."""
  if measure not in MEASURES:
    raise errors.UserError(f"shift measure {measure!r} is not one of {list(MEASURES)}")
  return measure


def change(parent: Mapping[str, Any], child: Mapping[str, Any],
           measure: str = DEFAULT_MEASURE, eps: float = DEFAULT_EPS) -> dict[str, Any]:
  """How far each parameter moved, |child - parent| (over |parent| + eps when relative), as a
  tree of float32 host arrays."""
  check_measure(measure)
  layout = layout_lib.Layout.of(parent)
  before = layout.vector(parent, "the parent", np.float32)
  after = layout.vector(child, "the fine-tuned child", np.float32)
  moved = np.abs(after - before)
  return layout.tree(moved / (np.abs(before) + np.float32(eps)) if measure == "relative"
                     else moved)


@dataclasses.dataclass(frozen=True)
class Shift:
  """Where the parameters one fine-tuned child moved most rank in each language's importance."""

  child: str
  languages: tuple[str, ...]  # the languages of the importance
  fractions: tuple[float, ...]
  measure: str  # "relative" or "absolute" change
  eps: float
  in_important: np.ndarray  # [K, L]: |M_k & S_l| / |M_k|; chance k
  percentile: np.ndarray  # [K, L]: mean importance percentile of M_k for l; chance 0.5
  shared_moved: np.ndarray  # [K]: |M_k & A_k| / |A_k|; chance k
  moved_shared: np.ndarray  # [K]: |M_k & A_k| / |M_k|
  shared_density: np.ndarray  # [K]: |A_k| / n, the chance level of `moved_shared`
  tensors: tuple[dict[str, Any], ...]  # one row per (tensor, fraction)


def shift(parent: Mapping[str, Any], child: Mapping[str, Any],
          importances: Mapping[str, Mapping[str, Any]], fractions: Sequence[float], *,
          child_name: str = "child", measure: str = DEFAULT_MEASURE,
          eps: float = DEFAULT_EPS) -> Shift:
  """Compares the top-k most-moved parameters of `child` with the parent's `importances`.

  `importances` is {language: the parent's importance tree on that language's data}.
  """
  fractions = masks_lib.check_fractions(fractions)
  ratio = overlap_lib.ratio
  layout = layout_lib.Layout.of(parent)
  moved_by = layout.vector(change(parent, child, measure, eps))
  moved = masks_lib.top_k(moved_by, fractions)  # [K, n]
  num_moved = moved.sum(1)
  n = layout.size
  cuts = np.array([masks_lib.count(k, n) for k in fractions])[:, None]
  in_important = np.zeros((len(fractions), len(importances)))
  percentile = np.zeros((len(fractions), len(importances)))
  shared = np.ones((len(fractions), n), bool)
  for j, (lang, tree) in enumerate(importances.items()):
    rank = masks_lib.ranks(layout.vector(tree, f"the importance of {lang}"))
    important = rank[None, :] < cuts
    shared &= important
    for i in range(len(fractions)):
      in_important[i, j] = ratio(np.count_nonzero(moved[i] & important[i]), num_moved[i])
      percentile[i, j] = ratio(np.sum(1 - rank[moved[i]] / max(n - 1, 1)), num_moved[i])
  common = np.count_nonzero(moved & shared, axis=1)
  rows = []
  for path, part in layout.slices().items():
    size = part.stop - part.start
    for i, k in enumerate(fractions):
      in_tensor = np.count_nonzero(moved[i, part])
      rows.append({"tensor": path, "fraction": k, "size": size,
                   "mean_change": float(moved_by[part].mean()) if size else float("nan"),
                   "median_change": float(np.median(moved_by[part])) if size else float("nan"),
                   "moved": ratio(in_tensor, size),
                   "share_of_moved": ratio(in_tensor, num_moved[i])})
  return Shift(child_name, tuple(importances), fractions, measure, eps, in_important, percentile,
               np.array([ratio(c, a) for c, a in zip(common, shared.sum(1))]),
               np.array([ratio(c, m) for c, m in zip(common, num_moved)]),
               shared.sum(1) / max(n, 1), tuple(rows))
