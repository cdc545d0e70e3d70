"""CharNER's byte batches: rows that decode back to the sentences (bytes, classes and kinds checked
against an independent word-by-word construction), bucketed shapes, truncation only in training,
exact coverage and resumption, shards."""

import collections
import json

import numpy as np
import pytest

from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture
from polyglot_ner.data import pipeline
from polyglot_ner.data.conll import Sentence
from polyglot_ner.kinds.charner import batches as bb

KEYS = {"bytes", "labels", "kinds", "lengths", "lang"}


def _expected_row(sentence: Sentence, label_map: labels.LabelMap, max_bytes: int = 10**9):
  """(bytes, class ids, kinds) of a sentence built word by word, cut to `max_bytes`."""
  classes = bb.byte_classes(label_map)
  data, ids, kinds = [], [], []
  for i, (token, tag) in enumerate(zip(sentence.tokens, sentence.tags)):
    type_id = 0 if tag == "O" else classes.index(tag[2:])
    if i:
      data.append(32)
      ids.append(type_id if tag.startswith("I-") else 0)
      kinds.append(bb.SPACE)
    word = list(token.encode())
    data += word
    ids += [type_id] * len(word)
    kinds += [bb.WORD_START] + [bb.INSIDE] * (len(word) - 1)
  return tuple(data[:max_bytes]), tuple(ids[:max_bytes]), tuple(kinds[:max_bytes])


def _rows(batch: dict[str, np.ndarray]):
  """Each non-empty row as (bytes, class ids, kinds, lang)."""
  for row in np.flatnonzero(batch["lengths"]):
    n = batch["lengths"][row]
    yield (tuple(batch["bytes"][row, :n].tolist()), tuple(batch["labels"][row, :n].tolist()),
           tuple(batch["kinds"][row, :n].tolist()), int(batch["lang"][row]))


def _check_padding(batch: dict[str, np.ndarray], buckets):
  assert set(batch) == KEYS and all(v.dtype == np.int32 for v in batch.values())
  b, width = batch["bytes"].shape
  assert width in buckets
  assert batch["labels"].shape == batch["kinds"].shape == (b, width)
  assert batch["lengths"].shape == batch["lang"].shape == (b,)
  past = np.arange(width) >= batch["lengths"][:, None]
  for key in ("bytes", "labels", "kinds"):
    assert np.all(batch[key][past] == 0), key
  assert np.all(batch["kinds"][~past] != bb.PAD) and np.all(batch["bytes"][~past] > 0)
  assert np.all(batch["lang"][batch["lengths"] == 0] == 0)


@pytest.fixture(scope="module")
def languages(random_languages):
  return random_languages(max_len=12, max_word_chars=8, long_words=False)


@pytest.fixture(scope="module")
def label_map(languages):
  return labels.LabelMap.from_sentences(s for group in languages.values() for s in group)


def test_byte_classes_follow_the_label_map(label_map):
  classes = bb.byte_classes(label_map)
  assert classes == ("O", "LOC", "PER")
  for t, type_ in enumerate(classes[1:], 1):  # the ids decode.word_tags relies on
    assert label_map.tags[2 * t - 1] == "B-" + type_ and label_map.tags[2 * t] == "I-" + type_


def test_epoch_covers_every_sentence_once_truncated_to_the_largest_bucket(languages, label_map):
  buckets = (16, 32, 64)
  batches = bb.ByteTrainBatches(languages, label_map, batch_size=16, num_epochs=1,
                                length_buckets=buckets)
  seen, padding_rows = collections.Counter(), 0
  for batch in batches:
    _check_padding(batch, buckets)
    padding_rows += int(np.sum(batch["lengths"] == 0))
    seen.update(_rows(batch))
  expected = collections.Counter(_expected_row(s, label_map, 64) + (lang,)
                                 for lang, group in enumerate(languages.values()) for s in group)
  assert seen == expected
  assert padding_rows == 16 * batches.batches_per_epoch - 211
  too_long = sum(len(" ".join(s.tokens).encode()) > 64 for g in languages.values() for s in g)
  assert batches.num_truncated == too_long > 0


@pytest.mark.parametrize("k", [0, 13, 14])  # 14 batches per epoch: 13 and 14 straddle the end
def test_resume_gives_identical_batches(languages, label_map, k):
  def make():
    return bb.ByteTrainBatches(languages, label_map, batch_size=16, seed=7,
                               mixture=mixture.Mixture({"xx/a": 1, "xx/b": 2}, "alpha", 0.5))
  assert make().batches_per_epoch == 14
  reference = iter(make())
  for _ in range(k):
    next(reference)
  state = json.loads(json.dumps(reference.get_state()))
  resumed = pipeline.TrainIterator(make())
  resumed.set_state(state)
  for _ in range(16):
    expected, got = next(reference), next(resumed)
    for key in KEYS:
      np.testing.assert_array_equal(expected[key], got[key], err_msg=key)


def test_sharded_batches_hold_the_same_rows(languages, label_map):
  def make(shards):
    return bb.ByteTrainBatches(languages, label_map, batch_size=16, num_epochs=1,
                               num_shards=shards)
  for whole, sharded in zip(make(1), make(4)):
    for key in KEYS:
      np.testing.assert_array_equal(whole[key], sharded[key])
  with pytest.raises(ValueError, match="does not split into 3 equal shards"):
    make(3)


def test_sorting_window_limits_padding(languages, label_map):
  def padding(sort_window):
    batches = bb.ByteTrainBatches(languages, label_map, batch_size=8, num_epochs=1,
                                  sort_window=sort_window, length_buckets=range(1, 129))
    return sum(b["bytes"].size - b["lengths"].sum() for b in batches)
  assert padding(64) < 0.5 * padding(1)


def test_eval_batches_cover_all_sentences_once_untruncated(languages, label_map):
  sentences = languages["xx/a"]
  data = bb.ByteEvalBatches(sentences, label_map, batch_size=16, lang=3, length_buckets=(16, 32))
  longest = max(len(" ".join(s.tokens).encode()) for s in sentences)
  assert data.length_buckets == (16, 32, -(-longest // 32) * 32)
  assert len(data) == len(data.indices) == 10
  np.testing.assert_array_equal(data.packed.num_words, [len(s) for s in sentences])
  seen = []
  for _ in range(2):  # iterating again gives the same batches
    indices_seen = []
    for batch, indices in zip(data, data.indices):
      _check_padding(batch, data.length_buckets)
      assert np.all((indices == -1) == (batch["lengths"] == 0))
      assert np.all(batch["lang"][indices >= 0] == 3)
      for row, got in zip(np.flatnonzero(batch["lengths"]), _rows(batch)):
        assert got == _expected_row(sentences[indices[row]], label_map) + (3,)
      indices_seen += indices[indices >= 0].tolist()
    seen.append(indices_seen)
  assert sorted(seen[0]) == list(range(len(sentences))) and seen[0] == seen[1]


def test_bad_input_raises(label_map):
  with pytest.raises(labels.UnknownTagError, match="B-ORG"):
    bb.PackedBytes([Sentence(("a",), ("B-ORG",))], label_map)
  with pytest.raises(labels.UnknownTagError, match="E-PER"):  # not IOB2
    bb.PackedBytes([Sentence(("a",), ("E-PER",))], label_map)
  with pytest.raises(ValueError, match="length_buckets"):
    bb.ByteTrainBatches({"x": [Sentence(("a",), ("O",))]}, label_map, batch_size=2,
                        length_buckets=())
  with pytest.raises(ValueError, match="do not fit"):
    bb.PackedBytes([Sentence(("a",), ("O",))] * 3, label_map).batch(np.arange(3), 2, (8,))
  empty = bb.PackedBytes([], label_map)
  assert len(empty) == 0 and empty.batch(np.arange(0), 2, (8,))["bytes"].shape == (2, 8)


def test_conll2002_es_bytes(data_root):
  """Real data: training truncates exactly the sentences over the largest bucket; evaluation
  keeps the longest dev sentence (936 bytes) whole."""
  dev = corpora.load_split("conll2002/es", "dev", data_root)
  label_map = labels.LabelMap.from_sentences(dev)
  lengths = np.array([len(" ".join(s.tokens).encode()) for s in dev])
  train = bb.ByteTrainBatches({"conll2002/es": dev}, label_map, batch_size=64, num_epochs=1)
  assert train.num_truncated == np.sum(lengths > 512) == 5
  total = sum(int(b["lengths"].sum()) for b in train)
  assert total == np.minimum(lengths, 512).sum()
  data = bb.ByteEvalBatches(dev, label_map, batch_size=64)
  assert data.length_buckets[-1] == 1024
  assert sum(int(b["lengths"].sum()) for b in data) == lengths.sum()
