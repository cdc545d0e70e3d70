"""Fine-tuned children's own importance against the parent's sets: every number against set
arithmetic, the children as each other's controls, and the verdict."""

import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.analysis import finetune_importance
from polyglot_ner.analysis import masks
from polyglot_ner.analysis import overlap


def split(flat):
  return {"embed": flat[:120].reshape(12, 10), "output": {"kernel": flat[120:]}}


def top(flat, k):
  """The top-k set of a flat score vector, as a Python set (ties by position)."""
  return set(sorted(range(len(flat)), key=lambda i: (-flat[i], i))[:masks.count(k, len(flat))])


def test_every_number_matches_set_arithmetic():
  rng = np.random.default_rng(0)
  n, fractions = 200, (0.1, 0.3)
  parent = {lang: rng.random(n) for lang in ("aa", "bb", "cc")}
  # Children that kept much of their language's importance; cc has none.
  children = {lang: parent[lang] + 0.5 * rng.random(n) for lang in ("aa", "bb")}
  result = finetune_importance.finetune_importance(
      {lang: split(v) for lang, v in parent.items()},
      {lang: split(v) for lang, v in children.items()}, fractions)
  assert result.children == ("aa", "bb") and result.languages == ("aa", "bb", "cc")
  for i, k in enumerate(fractions):
    sets = {lang: top(v, k) for lang, v in parent.items()}
    shared = set.intersection(*sets.values())
    references = [sets["aa"], sets["bb"], sets["cc"], shared]
    for c, (lang, scores) in enumerate(children.items()):
      own = top(scores, k)
      for r, reference in enumerate(references):
        assert result.coverage[i, c, r] == pytest.approx(len(own & reference) / len(reference))
        assert result.jaccard[i, c, r] == pytest.approx(
            len(own & reference) / len(own | reference))
      assert result.shared_mass[i, c] == pytest.approx(
          sum(scores[j] for j in shared) / scores.sum())
    assert result.shared_density[i] == len(shared) / n
    assert result.jaccard_chance[i, -1] == pytest.approx(
        overlap.chance_jaccard(k, len(shared) / n))
    coverage = result.coverage[i]
    assert result.own()[i] == pytest.approx((coverage[0, 0] + coverage[1, 1]) / 2)
    # The control of aa's child is bb's child on aa's set, and the other way round.
    assert result.control()[i] == pytest.approx((coverage[1, 0] + coverage[0, 1]) / 2)
    assert result.others()[i] == pytest.approx(np.mean(coverage[[0, 0, 1, 1], [1, 2, 0, 2]]))
    assert result.shared()[i] == pytest.approx(coverage[:, -1].mean())
  assert np.all(result.own() > result.control())  # each child follows its own language


def test_the_reading_holds_only_beyond_chance_and_the_control():
  rng = np.random.default_rng(1)
  n = 400
  parent = {lang: rng.random(n) for lang in ("aa", "bb")}
  shared = np.minimum(parent["aa"], parent["bb"])  # high where both languages are
  kept = {lang: split(shared + 0.05 * rng.random(n)) for lang in parent}
  trees = {lang: split(v) for lang, v in parent.items()}
  result = finetune_importance.finetune_importance(trees, kept, (0.2,))
  assert result.holds().tolist() == [True] and result.shared()[0] > result.control()[0]
  unrelated = {lang: split(rng.random(n)) for lang in parent}
  assert finetune_importance.finetune_importance(trees, unrelated, (0.2,)).holds().tolist() == [
      False]
  one = finetune_importance.finetune_importance(trees, {"aa": kept["aa"]}, (0.2,))
  assert np.isnan(one.control()[0]) and one.holds().tolist() == [True]  # chance alone


def test_errors():
  trees = {"aa": split(np.arange(200.0))}
  with pytest.raises(errors.UserError, match="at least one child"):
    finetune_importance.finetune_importance(trees, {}, (0.1,))
  with pytest.raises(errors.UserError, match="fine-tuned on aa"):
    finetune_importance.finetune_importance(trees, {"aa": {"embed": np.zeros((12, 10))}}, (0.1,))
