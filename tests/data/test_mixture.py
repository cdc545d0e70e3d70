"""Language mixtures: target probabilities, epoch orders, and what batches actually contain."""

import collections

import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.data import labels
from polyglot_ner.data import mixture
from polyglot_ner.data.conll import Sentence
from polyglot_ner.kinds.byte_crf import batches as word_batches


def _language(name: str, n: int) -> list[Sentence]:
  """n distinct sentences whose first token names their language and index."""
  return [Sentence((f"{name}{i}", "x"), ("B-PER", "O")) for i in range(n)]


SIZES = {"xx/big": 1500, "xx/mid": 400, "xx/small": 100}
WEIGHTS = {"xx/big": 1.0, "xx/mid": 2.0, "xx/small": 0.5}


def _expected(mode: str, alpha: float = 1.0) -> np.ndarray:
  """Target probabilities written out by hand from each mode's definition."""
  n = np.array([1500.0, 400.0, 100.0])
  w = np.array([1.0, 2.0, 0.5])
  mass = {"proportional": n * w, "uniform": w, "alpha": n ** alpha * w}[mode]
  return mass / mass.sum()


@pytest.mark.parametrize("mode,alpha", [("proportional", 1.0), ("uniform", 1.0), ("alpha", 0.5),
                                        ("alpha", 0.0), ("alpha", 1.0)])
def test_probabilities_follow_each_mode_definition(mode, alpha):
  probs = mixture.mixture_probabilities(list(SIZES.values()), list(WEIGHTS.values()), mode, alpha)
  np.testing.assert_allclose(probs, _expected(mode, alpha))


def test_alpha_limits_are_uniform_and_proportional():
  sizes, weights = [7, 70, 700], [1, 1, 3]
  np.testing.assert_allclose(mixture.mixture_probabilities(sizes, weights, "alpha", 0.0),
                             mixture.mixture_probabilities(sizes, weights, "uniform"))
  np.testing.assert_allclose(mixture.mixture_probabilities(sizes, weights, "alpha", 1.0),
                             mixture.mixture_probabilities(sizes, weights, "proportional"))


def test_apportion_sums_to_total_and_stays_within_one():
  rng = np.random.default_rng(0)
  for _ in range(200):
    probs = rng.dirichlet(np.ones(rng.integers(1, 8)))
    total = int(rng.integers(0, 10_000))
    counts = mixture.apportion(total, probs)
    assert counts.sum() == total
    assert np.all(np.abs(counts - total * probs) < 1)


@pytest.mark.parametrize("mode,alpha", [("proportional", 1.0), ("uniform", 1.0), ("alpha", 0.3)])
def test_batches_match_target_proportions(mode, alpha):
  mix = mixture.Mixture(WEIGHTS, mode=mode, alpha=alpha)
  languages = {name: _language(name, n) for name, n in SIZES.items()}
  label_map = labels.LabelMap.from_sentences(languages["xx/big"])
  batches = word_batches.WordTrainBatches(languages, label_map, batch_size=32, mixture=mix, seed=3)
  counts = np.zeros(3)
  data = iter(batches)
  for _ in range(4 * batches.batches_per_epoch):
    batch = next(data)
    counts += np.bincount(batch["lang"][batch["lengths"] > 0], minlength=3)
  assert counts.sum() == 4 * sum(SIZES.values())
  np.testing.assert_allclose(counts / counts.sum(), _expected(mode, alpha), atol=0.01)


@pytest.mark.parametrize("mode", ["uniform", "alpha"])
def test_languages_are_interleaved_not_blocked(mode):
  mix = mixture.Mixture({"a": 1, "b": 1, "c": 1}, mode=mode, alpha=0.5)
  sizes = [500, 4000, 15_500]
  order = mix.epoch_order(sizes, seed=0, epoch=0)
  for part in np.array_split(order[:, 0], 4):
    np.testing.assert_allclose(np.bincount(part, minlength=3) / len(part), mix.probabilities(sizes),
                               atol=0.02)


def test_weight_zero_drops_language():
  mix = mixture.Mixture({"xx/a": 1.0, "xx/dropped": 0.0, "xx/b": 3.0}, mode="uniform")
  assert mix.names == ("xx/a", "xx/b")
  assert mix.index("xx/b") == 1
  with pytest.raises(KeyError, match="xx/dropped"):
    mix.index("xx/dropped")
  languages = {name: _language(name, 60) for name in ("xx/a", "xx/dropped", "xx/b")}
  label_map = labels.LabelMap.from_sentences(languages["xx/a"])
  batches = word_batches.WordTrainBatches(languages, label_map, batch_size=8, mixture=mix, num_epochs=3)
  firsts = collections.Counter()
  for batch in batches:
    for row in np.flatnonzero(batch["lengths"]):
      word = batch["word_ids"][row, 0]
      first = bytes(batch["word_bytes"][word, :batch["word_byte_lengths"][word]].tolist()).decode()
      firsts[first.rstrip("0123456789")] += 1
      assert first.startswith(mix.names[batch["lang"][row]])
  assert set(firsts) == {"xx/a", "xx/b"}


def test_order_is_deterministic_for_a_seed():
  mix = mixture.Mixture({"a": 1, "b": 1}, mode="alpha", alpha=0.5)
  first = mix.epoch_order([30, 300], seed=11, epoch=2)
  np.testing.assert_array_equal(first, mix.epoch_order([30, 300], seed=11, epoch=2))
  assert not np.array_equal(first, mix.epoch_order([30, 300], seed=12, epoch=2))
  assert not np.array_equal(first, mix.epoch_order([30, 300], seed=11, epoch=3))


def test_proportional_epoch_is_one_pass_over_the_concatenation():
  mix = mixture.Mixture({"a": 1, "b": 1, "c": 1})
  sizes = [13, 250, 97]
  for epoch in range(3):
    order = mix.epoch_order(sizes, seed=5, epoch=epoch)
    expected = sorted((lang, i) for lang, n in enumerate(sizes) for i in range(n))
    assert sorted(map(tuple, order.tolist())) == expected


def _draws_of(mix: mixture.Mixture, sizes: list[int], lang: int, epochs: int) -> np.ndarray:
  """Sentence indices drawn for one language, in order, over consecutive epochs."""
  orders = [mix.epoch_order(sizes, seed=1, epoch=e) for e in range(epochs)]
  return np.concatenate([order[order[:, 0] == lang, 1] for order in orders])


def test_every_sentence_is_seen_before_any_repeats_across_epochs():
  mix = mixture.Mixture({"small": 1, "large": 1}, mode="uniform")
  sizes = [7, 993]
  small = _draws_of(mix, sizes, 0, epochs=3)
  assert len(small) == 3 * 500
  for start in range(0, len(small) - 7, 7):
    assert sorted(small[start:start + 7]) == list(range(7))
  # The large language is down-sampled (500 draws an epoch): epoch 1 continues epoch 0's pass.
  large = _draws_of(mix, sizes, 1, epochs=2)
  assert len(set(large[:993].tolist())) == 993


def test_bad_mixtures_raise():
  with pytest.raises(errors.UserError, match="'a'"):
    mixture.Mixture({"a": -1.0})
  with pytest.raises(errors.UserError, match="no language"):
    mixture.Mixture({"a": 0, "b": 0.0})
  with pytest.raises(errors.UserError, match="unknown mixture mode"):
    mixture.Mixture({"a": 1}, mode="temperature")
  with pytest.raises(errors.UserError, match="'b' has weight"):
    mixture.Mixture({"a": 1, "b": 1}, mode="uniform").probabilities([10, 0])
  with pytest.raises(KeyError, match="b"):
    word_batches.WordTrainBatches({"a": _language("a", 3)}, labels.LabelMap(["PER"]), batch_size=2,
                          mixture=mixture.Mixture({"a": 1, "b": 1}))


def test_load_keeps_languages_separate_on_demo():
  mix = mixture.Mixture({"demo/aa": 1, "demo/bb": 0})
  dev = mix.load("dev")
  assert list(dev) == ["demo/aa"]
  assert dev["demo/aa"] and all(isinstance(s, Sentence) for s in dev["demo/aa"])


def test_load_real_languages(data_root):
  mix = mixture.Mixture({"conll2003/en": 1, "wikiann/sw": 1, "conll2002/es": 0})
  dev = mix.load("dev", data_root, type_map={"MISC": "O"})
  assert {name: len(s) for name, s in dev.items()} == {"conll2003/en": 3250, "wikiann/sw": 1000}
  assert not any("MISC" in tag for s in dev["conll2003/en"] for tag in s.tags)


def test_load_fails_on_bad_data_naming_file_and_line(tmp_path):
  """`train` loads every split through here before its first step."""
  folder = tmp_path / "masakhaner" / "xyz"
  folder.mkdir(parents=True)
  (folder / "train.txt").write_text("Kano B-LOC\n", encoding="utf-8")
  (folder / "dev.txt").write_bytes(b"Kano B-LOC\n\nAb\x00uja B-LOC\n")
  mix = mixture.Mixture({"masakhaner/xyz": 1})
  assert len(mix.load("train", tmp_path)["masakhaner/xyz"]) == 1
  with pytest.raises(errors.UserError, match=f"{folder / 'dev.txt'}:3:3: token 'Ab\\\\x00uja' "
                                             "contains a NUL character"):
    mix.load("dev", tmp_path)
