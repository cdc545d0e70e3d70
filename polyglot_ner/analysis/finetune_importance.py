"""Which of its polyglot parent's important parameters a fine-tuned child relies on itself: the
reading of "fine-tuning may utilize a large number of those [shared] parameters" that compares the
child's own importance with the parent's (research-notes §6 step 5; `shift` tests the other one,
which parameters fine-tuning moved).

Child c was fine-tuned on language l from the parent. At fraction k, C is the child's top-k set by
its own importance on l's data, S_m the parent's top-k set for language m and A the parent's
shared-by-all set (in every S_m). Per child:

* `coverage` |C & R| / |R| for R = S_m of every parent language m, then A: how much of the
  parent's set the child's own set holds; chance k (a random C), whatever the size of R;
* `jaccard` |C & R| / |C | R| of the same pairs; chance given the sizes (`overlap.chance_jaccard`);
* `shared_mass`: the share of the child's total importance that lies on A; chance |A| / n (the
  importance spread evenly).

The children are each other's controls: a child of language l' != l, fine-tuned from the same
parent on other data, shows how much of S_l any child holds when its language is not l. The
reading holds (`holds`) where the children's own sets hold more of A than chance and more than a
control child holds of a parent's set for a language it was not tuned on: shared parameters
matter to the fine-tuned model beyond what starting from the parent gives every child.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polyglot_ner import errors
from polyglot_ner.analysis import masks as masks_lib
from polyglot_ner.analysis import overlap as overlap_lib

SHARED = "shared by all"  # the reference set after the languages' in `coverage` and `jaccard`


@dataclasses.dataclass(frozen=True)
class FinetuneImportance:
  """The fine-tuned children's own top-k sets against their parent's, per fraction."""

  method: str
  children: tuple[str, ...]  # each child's language
  languages: tuple[str, ...]  # the parent's languages; the references are these, then SHARED
  fractions: tuple[float, ...]
  coverage: np.ndarray  # [K, children, languages + 1]: |C & R| / |R|; chance k
  jaccard: np.ndarray  # [K, children, languages + 1]: |C & R| / |C | R|
  jaccard_chance: np.ndarray  # [K, languages + 1]: of a random C of density k
  shared_mass: np.ndarray  # [K, children]: the child's importance on A over its total
  shared_density: np.ndarray  # [K]: |A| / n, the chance level of `shared_mass`

  def _pairs(self, own: bool) -> list[tuple[int, int]]:
    """(child, language) index pairs: each child with its own language, or (`own` False) with
    every other language that has a child (the controls)."""
    return [(c, self.languages.index(lang)) for c, child in enumerate(self.children)
            for lang in self.children if (lang == child) == own and lang in self.languages]

  def own(self) -> np.ndarray:
    """[K]: the mean coverage of the parent's set for a child's language by that child."""
    return np.array([overlap_lib.nanmean([row[c, m] for c, m in self._pairs(True)])
                     for row in self.coverage])

  def control(self) -> np.ndarray:
    """[K]: the mean coverage of the parent's set for a child's language by the other children
    (NaN with one child)."""
    return np.array([overlap_lib.nanmean([row[c, m] for c, m in self._pairs(False)])
                     for row in self.coverage])

  def others(self) -> np.ndarray:
    """[K]: the mean coverage of the parent's sets for the other languages by each child."""
    return np.array([overlap_lib.nanmean([row[c, m] for c, child in enumerate(self.children)
                                          for m, lang in enumerate(self.languages)
                                          if lang != child]) for row in self.coverage])

  def shared(self) -> np.ndarray:
    """[K]: the mean coverage of the parent's shared-by-all set by the children."""
    return np.array([overlap_lib.nanmean(row[:, -1]) for row in self.coverage])

  def holds(self) -> np.ndarray:
    """[K] bool: the children hold more of the shared set than chance and than the controls
    hold of another language's set (chance alone with one child)."""
    shared, control = self.shared(), self.control()
    return (shared > np.array(self.fractions)) & (np.isnan(control) | (shared > control))


def finetune_importance(parent: Mapping[str, Mapping[str, Any]],
                        children: Mapping[str, Mapping[str, Any]], fractions: Sequence[float], *,
                        method: str = "fisher") -> FinetuneImportance:
  """Compares each child's own importance ({child's language: tree}) with the parent's on every
  language ({language: tree}); all trees share the parent's layout."""
  fractions = masks_lib.check_fractions(fractions)
  if not parent or not children:
    raise errors.UserError("the fine-tuned children's importance needs the parent's importance "
                           "and at least one child's")
  layout, references = masks_lib.top_k_sets(parent, fractions)
  references = np.concatenate([references, references.all(axis=1, keepdims=True)], axis=1)
  sizes = references.sum(2)  # [K, languages + 1]
  n = max(layout.size, 1)
  ratio = overlap_lib.ratio
  coverage = np.zeros((len(fractions), len(children), len(parent) + 1))
  jaccard = np.zeros_like(coverage)
  mass = np.zeros((len(fractions), len(children)))
  for c, (lang, tree) in enumerate(children.items()):
    scores = layout.vector(tree, f"the importance of the child fine-tuned on {lang}",
                           np.float64)
    own = masks_lib.top_k(scores, fractions)  # [K, n]
    for i, r in np.ndindex(*sizes.shape):
      common = np.count_nonzero(own[i] & references[i, r])
      coverage[i, c, r] = ratio(common, sizes[i, r])
      jaccard[i, c, r] = ratio(common, own[i].sum() + sizes[i, r] - common)
    mass[:, c] = [ratio(scores[shared].sum(), scores.sum()) for shared in references[:, -1]]
  chance = np.array([[overlap_lib.chance_jaccard(k, size / n) for size in row]
                     for k, row in zip(fractions, sizes)])
  return FinetuneImportance(method, tuple(children), tuple(parent), fractions, coverage, jaccard,
                            chance, mass, sizes[:, -1] / n)
