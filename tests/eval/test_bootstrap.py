"""The paired bootstrap against the scorer's totals, a slow reference loop and clear-cut cases."""

import numpy as np
import pytest

from polyglot_ner.data import corpora
from polyglot_ner.eval import bootstrap
from polyglot_ner.eval import conlleval

TYPES = ("PER", "LOC", "ORG", "MISC")


def perturb(tags_seqs, rate, seed):
  """Corrupts tags at random: any tag (including stray I- and type switches) at `rate`."""
  rng = np.random.default_rng(seed)
  vocabulary = ["O"] + [f"{p}-{t}" for t in TYPES for p in "BI"]
  return [[vocabulary[rng.integers(len(vocabulary))] if rng.random() < rate else tag
           for tag in tags] for tags in tags_seqs]


@pytest.fixture(scope="module")
def es_dev(data_root):
  return [list(s.tags) for s in corpora.load_split("conll2002/es", "dev", data_root)]


def test_counts_sum_to_scorer_totals_on_real_data(es_dev):
  pred = perturb(es_dev, 0.1, seed=0)
  counts = bootstrap.sentence_counts(es_dev, pred)
  scored = conlleval.score(es_dev, pred)
  assert counts.shape == (len(es_dev), 3)
  assert tuple(counts.sum(axis=0)) == (scored["correct"], scored["found"], scored["gold"])
  assert scored["correct"] < scored["found"]  # the perturbation did break spans
  assert bootstrap.f1_from_counts(counts.sum(axis=0)) == pytest.approx(scored["f1"])


def test_counts_match_scorer_sentence_by_sentence():
  gold = [["I-PER", "I-PER", "O", "I-LOC", "B-LOC"], ["O", "B-ORG", "I-ORG", "O", "B-MISC"],
          ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"], ["O", "O"]]
  pred = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["O", "I-ORG", "I-ORG", "O", "O"],
          ["B-PER", "I-LOC", "O", "B-LOC", "I-LOC"], ["O", "B-PER"]]
  counts = bootstrap.sentence_counts(gold, pred)
  for row, (g, p) in zip(counts, zip(gold, pred)):
    scored = conlleval.score([g], [p])
    assert tuple(row) == (scored["correct"], scored["found"], scored["gold"])


def test_identical_systems_give_zero_delta_and_p_one(es_dev):
  counts = bootstrap.sentence_counts(es_dev, perturb(es_dev, 0.1, seed=1))
  result = bootstrap.paired_bootstrap(counts, counts, num_samples=500)
  assert result.delta == 0
  assert result.p_value == 1.0
  assert result.ci_low == result.ci_high == 0


def test_clearly_better_system_gets_small_p(es_dev):
  better = bootstrap.sentence_counts(es_dev, perturb(es_dev, 0.02, seed=2))
  worse = bootstrap.sentence_counts(es_dev, perturb(es_dev, 0.1, seed=3))
  result = bootstrap.paired_bootstrap(better, worse, num_samples=2000)
  expected = (conlleval.score(es_dev, perturb(es_dev, 0.02, seed=2))["f1"]
              - conlleval.score(es_dev, perturb(es_dev, 0.1, seed=3))["f1"])
  assert result.delta == pytest.approx(expected)
  assert result.delta > 0.1
  assert result.p_value < 0.01
  assert 0 < result.ci_low < result.delta < result.ci_high
  reverse = bootstrap.paired_bootstrap(worse, better, num_samples=2000)
  assert reverse.p_value > 0.99
  assert reverse.delta == pytest.approx(-result.delta)


def slow_bootstrap(a, b, num_samples, seed):
  """One sample at a time: the definition the vectorised version must reproduce."""
  rng = np.random.default_rng(seed)
  deltas = []
  for _ in range(num_samples):
    indices = rng.integers(0, a.shape[1], a.shape[1])
    per_seed = []
    for s in range(a.shape[0]):
      (ca, fa, ga), (cb, fb, gb) = a[s, indices].sum(0), b[s, indices].sum(0)
      f1_a = 2 * ca / (fa + ga) if fa + ga else 0.0
      f1_b = 2 * cb / (fb + gb) if fb + gb else 0.0
      per_seed.append(f1_a - f1_b)
    deltas.append(sum(per_seed) / len(per_seed))
  return np.array(deltas)


@pytest.mark.parametrize("chunk_elements", [1 << 22, 30])  # one chunk; a chunk of 3 samples
def test_vectorised_equals_slow_loop(monkeypatch, chunk_elements):
  monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", chunk_elements)
  rng = np.random.default_rng(7)
  gold = rng.integers(0, 4, (2, 9))
  gold[1] = gold[0]  # two seeds, one test set
  a = np.stack([np.minimum(rng.integers(0, 4, (2, 9)), gold), rng.integers(0, 5, (2, 9)), gold],
               axis=-1)
  b = np.stack([np.minimum(rng.integers(0, 4, (2, 9)), gold), rng.integers(0, 5, (2, 9)), gold],
               axis=-1)
  result = bootstrap.paired_bootstrap(a, b, num_samples=40, seed=11, confidence=0.9)
  deltas = slow_bootstrap(a, b, 40, seed=11)
  assert result.p_value == np.mean(deltas <= 0)
  assert (result.ci_low, result.ci_high) == pytest.approx(tuple(np.quantile(deltas, [0.05, 0.95])))
  assert 0 < result.p_value < 1  # a case where the resamples disagree


def test_seeds_average_the_per_seed_differences(es_dev):
  systems = [[bootstrap.sentence_counts(es_dev, perturb(es_dev, rate, seed=seed))
              for seed in (4, 5)] for rate in (0.05, 0.08)]
  result = bootstrap.paired_bootstrap(np.stack(systems[0]), np.stack(systems[1]), num_samples=200)
  per_seed = [bootstrap.f1_from_counts(a.sum(0)) - bootstrap.f1_from_counts(b.sum(0))
              for a, b in zip(*systems)]
  assert result.delta == pytest.approx(np.mean(per_seed))
  assert result.num_seeds == 2 and result.num_sentences == len(es_dev)


def test_unpaired_inputs_are_errors():
  a = bootstrap.sentence_counts([["B-PER", "O"]], [["B-PER", "O"]])
  b = bootstrap.sentence_counts([["O", "O"]], [["B-PER", "O"]])
  with pytest.raises(ValueError, match="same gold"):
    bootstrap.paired_bootstrap(a, b)
  with pytest.raises(ValueError, match="not paired"):
    bootstrap.paired_bootstrap(a, np.concatenate([a, a]))
  with pytest.raises(ValueError, match="sentence 0: 2 gold tags but 1"):
    bootstrap.sentence_counts([["B-PER", "O"]], [["O"]])
  assert bootstrap.sentence_counts([], []).shape == (0, 3)


def test_format_p_value():
  assert bootstrap.format_p_value(0.0123, 1000) == "p=0.0123"
  assert bootstrap.format_p_value(0.0, 1000) == "p<0.001"
