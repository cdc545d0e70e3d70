"""Top-k masks and their overlap: exact counts, deterministic ties, brute-force statistics,
self-overlap 1, the random-ranking baseline and the seeds baseline's pairs."""

import itertools
import math

import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.analysis import layout as layout_lib
from polyglot_ner.analysis import masks
from polyglot_ner.analysis import overlap


def tree(values):
  """A parameter tree of two tensors from a flat vector of 12 + 8 values."""
  values = np.asarray(values)
  return {"b": {"kernel": values[12:].reshape(2, 4)}, "a": values[:12].reshape(3, 4)}


def test_layout_orders_tensors_by_path_and_round_trips():
  layout = layout_lib.Layout.of(tree(np.arange(20)))
  assert layout.paths == ("a", "b/kernel") and layout.size == 20
  np.testing.assert_array_equal(layout.vector(tree(np.arange(20))), np.arange(20))
  back = layout.tree(np.arange(20))
  np.testing.assert_array_equal(back["b"]["kernel"], np.arange(12, 20).reshape(2, 4))
  with pytest.raises(errors.UserError, match="b/kernel"):
    layout.vector({"a": np.zeros((3, 4)), "b": {"kernel": np.zeros(8)}})


def test_top_k_takes_the_exact_count_and_breaks_ties_by_position():
  rng = np.random.default_rng(0)
  scores = rng.integers(0, 4, size=20).astype(np.float32)  # many ties
  fractions = (0.05, 0.1, 0.25, 0.5, 1.0)
  got = masks.top_k_masks(tree(scores), fractions)
  brute = sorted(range(20), key=lambda i: (-scores[i], i))
  layout = layout_lib.Layout.of(tree(scores))
  for k in fractions:
    expected = np.zeros(20, bool)
    expected[brute[:round(k * 20)]] = True
    np.testing.assert_array_equal(layout.vector(got[k]), expected)
  least = masks.top_k_masks(tree(scores), (0.25,), largest=False)[0.25]
  expected = np.zeros(20, bool)
  expected[sorted(range(20), key=lambda i: (scores[i], i))[:5]] = True
  np.testing.assert_array_equal(layout.vector(least), expected)
  assert masks.count(0.5, 3) == 2 and masks.count(0.01, 20) == 0


def test_fractions_and_scores_are_checked():
  with pytest.raises(errors.UserError, match=r"\(0, 1\]"):
    masks.check_fractions([0.1, 5])
  with pytest.raises(errors.UserError, match="not finite"):
    masks.top_k(np.array([1.0, np.nan]), [0.5])
  assert masks.check_fractions([0.2, 0.1, 0.2]) == (0.1, 0.2)


def test_sharing_matches_set_arithmetic():
  rng = np.random.default_rng(1)
  selected = rng.random((3, 40)) < [[0.3], [0.5], [0.2]]
  stats = overlap.sharing(selected, 0.3)
  sets = [set(np.flatnonzero(row)) for row in selected]
  everyone = sets[0] & sets[1] & sets[2]
  for a, b in itertools.product(range(3), repeat=2):
    assert math.isclose(stats.jaccard[a, b], len(sets[a] & sets[b]) / len(sets[a] | sets[b]))
  for a in range(3):
    others = set().union(*(sets[b] for b in range(3) if b != a))
    assert math.isclose(stats.shared_by_all[a], len(sets[a] & everyone) / len(sets[a]))
    assert math.isclose(stats.only_one[a], len(sets[a] - others) / len(sets[a]))
  union = set().union(*sets)
  exactly_one = {i for i in union if sum(i in s for s in sets) == 1}
  assert math.isclose(stats.union, len(union) / 40)
  assert math.isclose(stats.all_of_union, len(everyone) / len(union))
  assert math.isclose(stats.one_of_union, len(exactly_one) / len(union))
  assert math.isclose(stats.languages_per_param.sum(), 1.0)


def test_a_language_overlaps_itself_fully():
  scores = np.random.default_rng(2).random(20)
  result = overlap.overlap({"aa": tree(scores), "again": tree(scores)}, (0.1, 0.5))
  for stats in result.observed:
    np.testing.assert_array_equal(stats.jaccard, 1.0)
    np.testing.assert_array_equal(stats.shared_by_all, 1.0)
    np.testing.assert_array_equal(stats.only_one, 0.0)
  rows = [row for row in result.tensors if row["fraction"] == 0.5]
  assert [row["tensor"] for row in rows] == ["a", "b/kernel"]
  assert sum(row["selected_aa"] * row["size"] for row in rows) == 10
  assert all(row["mean_jaccard"] == 1.0 for row in rows if row["selected_aa"])


def test_random_rankings_overlap_as_the_closed_form_says():
  n, fractions = 200_000, (0.01, 0.1, 0.3)
  scores = {lang: {"w": masks.random_scores(n, 10 + seed)} for seed, lang in enumerate("xyz")}
  result = overlap.overlap(scores, fractions)
  for k, stats, random in zip(fractions, result.observed, result.random):
    chance = result.expected(k)
    intersection = k * k * n  # hypergeometric: sd about sqrt(k^2 n) entries
    tolerance = 5 * math.sqrt(intersection) / (2 * k * n - intersection)
    for measured in (stats, random):
      assert abs(measured.mean_jaccard - k / (2 - k)) < tolerance, (k, measured.mean_jaccard)
      np.testing.assert_allclose(measured.languages_per_param, chance.languages_per_param,
                                 atol=5 * math.sqrt(0.25 / n))
      np.testing.assert_allclose(measured.shared_by_all, k**2, atol=5 * k / math.sqrt(k * n))
  assert math.isclose(result.expected(0.1).jaccard[0, 1], 0.1 / 1.9)
  # Per tensor, the chance Jaccard given densities q is q / (2 - q) for equal densities.
  assert math.isclose(overlap.chance_jaccard(0.2, 0.2), 0.2 / 1.8)


def test_seeds_pairs_are_grouped_by_what_two_runs_share():
  rng = np.random.default_rng(3)
  runs = (("aa", 0), ("bb", 0), ("aa", 1), ("bb", 2))
  scores = {run: rng.random(20) for run in runs}
  result = overlap.seeds({run: tree(v) for run, v in scores.items()}, (0.25, 0.5))
  assert result.pairs("same_language") == [(0, 2), (1, 3)]
  assert result.pairs("same_seed") == [(0, 1)]
  assert result.pairs("neither") == [(0, 3), (1, 2), (2, 3)]
  layout = layout_lib.Layout.of(tree(scores[runs[0]]))
  for i, k in enumerate(result.fractions):
    sets = [set(np.flatnonzero(masks.top_k(layout.vector(tree(scores[run])), [k])[0]))
            for run in runs]
    for a, b in itertools.combinations(range(4), 2):
      assert result.jaccard[i, a, b] == pytest.approx(
          len(sets[a] & sets[b]) / len(sets[a] | sets[b]))
    assert result.mean("neither")[i] == pytest.approx(
        np.mean([result.jaccard[i, a, b] for a, b in result.pairs("neither")]))
  with pytest.raises(errors.UserError, match="two or more"):
    overlap.seeds({("aa", 0): tree(scores[runs[0]])}, (0.5,))
