"""Batches: shapes from the bucket sets, word tables that decode back to the words (per shard),
exact coverage and resumption, and the byte streams of CharNER/BTS."""

import collections
import json

import numpy as np
import pytest

from polyglot_ner.data import batches as batches_lib
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture
from polyglot_ner.data import pipeline
from polyglot_ner.data.conll import Sentence
from polyglot_ner.kinds.byte_crf import batches as word_batches


def global_word_ids(batch, num_shards, table="word_byte_lengths"):
  """[B, T] indices into the whole table (`batch[table]`; each row's block offset added)."""
  rows, _ = batch["word_ids"].shape
  table_size = len(batch[table]) // num_shards
  block = np.arange(rows) // (rows // num_shards)
  return batch["word_ids"] + (block * table_size)[:, None]

KEYS = {"word_bytes", "word_byte_lengths", "pack_offsets", "pack_lengths", "word_ids", "lengths",
        "tags", "lang"}


def _words(batch: dict[str, np.ndarray], num_shards: int = 1) -> list[list[bytes]]:
  """Each row's words (through its own shard's table) as UTF-8 bytes, padding slots included."""
  ids = global_word_ids(batch, num_shards)
  table = [bytes(row[:n].tolist())
           for row, n in zip(batch["word_bytes"], batch["word_byte_lengths"])]
  return [[table[i] for i in row] for row in ids]


def _rows(batch: dict[str, np.ndarray], label_map: labels.LabelMap, num_shards: int = 1):
  """Decode each non-empty row back to (tokens as truncated UTF-8 bytes, tags, lang)."""
  words = _words(batch, num_shards)
  for row in np.flatnonzero(batch["lengths"]):
    n = batch["lengths"][row]
    yield (row, tuple(words[row][:n]), tuple(label_map.decode(batch["tags"][row, :n])),
           int(batch["lang"][row]))


def _expected_row(sentence: Sentence, max_words: int, max_word_bytes: int = 64):
  return (tuple(t.encode()[:max_word_bytes] for t in sentence.tokens[:max_words]),
          sentence.tags[:max_words])


def _check_padding(batch: dict[str, np.ndarray], num_shards: int = 1):
  """Padding slots point at an empty table entry, each shard's table holds distinct words, bytes
  past each word's length are zero; shapes agree."""
  b, t = batch["word_ids"].shape
  u, w = batch["word_bytes"].shape
  assert set(batch) == KEYS
  assert all(v.dtype == np.int32 for v in batch.values())
  assert batch["tags"].shape == (b, t) and batch["word_byte_lengths"].shape == (u,)
  assert batch["lengths"].shape == batch["lang"].shape == (b,)
  assert u % num_shards == 0 and np.all(batch["word_ids"] >= 0)
  assert np.all(batch["word_ids"] < u // num_shards)
  lengths = batch["word_byte_lengths"][global_word_ids(batch, num_shards)]
  words = np.arange(t)[None, :] < batch["lengths"][:, None]
  assert np.all(lengths[words] >= 1)
  assert np.all(lengths[~words] == 0) and np.all(batch["tags"][~words] == 0)
  in_word = np.arange(w) < batch["word_byte_lengths"][:, None]
  assert np.all(batch["word_bytes"][~in_word] == 0) and np.all(batch["word_bytes"][in_word] > 0)
  for table, table_lengths in zip(np.split(batch["word_bytes"], num_shards),
                                  np.split(batch["word_byte_lengths"], num_shards)):
    real = table[table_lengths > 0]
    assert len(np.unique(real, axis=0)) == len(real)  # each distinct word once per shard
  assert np.all(batch["lang"][batch["lengths"] == 0] == 0)
  _check_packing(batch, num_shards)


def _check_packing(batch: dict[str, np.ndarray], num_shards: int):
  """Each shard's words lie in its packed rows without crossing a row end or overlapping, and
  each row's length is the bytes of its words."""
  width = batch["word_bytes"].shape[1]
  for offsets, lengths, rows in zip(np.split(batch["pack_offsets"], num_shards),
                                    np.split(batch["word_byte_lengths"], num_shards),
                                    np.split(batch["pack_lengths"], num_shards)):
    used = np.zeros(len(rows) * width, int)
    for offset, length in zip(offsets[lengths > 0], lengths[lengths > 0]):
      assert offset % width + length <= width
      used[offset:offset + length] += 1
    assert used.max() <= 1
    np.testing.assert_array_equal(used.reshape(len(rows), width).sum(axis=1), rows)
    assert np.all(used.reshape(len(rows), width)[np.arange(width) >= rows[:, None]] == 0)


@pytest.fixture(scope="module")
def languages(random_languages):
  return random_languages(max_len=40, max_word_chars=30, long_words=True)


@pytest.fixture(scope="module")
def label_map(languages):
  return labels.LabelMap.from_sentences(s for group in languages.values() for s in group)


def test_epoch_covers_every_sentence_once_with_bucketed_shapes(languages, label_map):
  buckets, byte_buckets = (4, 16, 32), (8, 16)
  batches = word_batches.WordTrainBatches(languages, label_map, batch_size=16, num_epochs=1,
                                  length_buckets=buckets, byte_buckets=byte_buckets)
  seen, shapes, padding_rows = collections.Counter(), set(), 0
  for batch in batches:
    _check_padding(batch)
    assert batch["lengths"].shape[0] == 16
    shapes.add((batch["word_ids"].shape[1], batch["word_bytes"].shape[1]))
    padding_rows += int(np.sum(batch["lengths"] == 0))
    for _, words, tags, lang in _rows(batch, label_map):
      seen[(words, tags, lang)] += 1
  expected = collections.Counter(_expected_row(s, 32) + (lang,)
                                 for lang, group in enumerate(languages.values()) for s in group)
  assert seen == expected
  assert padding_rows == 16 * batches.batches_per_epoch - 211
  assert {t for t, _ in shapes} <= set(buckets) and {w for _, w in shapes} <= {8, 16, 64}
  assert batches.num_truncated == sum(len(s) > 32 for g in languages.values() for s in g) > 0


@pytest.mark.parametrize("num_shards", [2, 4])
def test_sharded_batches_hold_the_same_rows_with_a_table_per_shard(languages, label_map,
                                                                   num_shards):
  def make(shards):
    return word_batches.WordTrainBatches(languages, label_map, batch_size=16, num_epochs=1,
                                 num_shards=shards)
  for whole, sharded in zip(make(1), make(num_shards)):
    _check_padding(sharded, num_shards)
    assert list(_rows(sharded, label_map, num_shards)) == list(_rows(whole, label_map))
    for key in ("lengths", "tags", "lang"):
      np.testing.assert_array_equal(sharded[key], whole[key])
    slots, distinct = sharded["word_ids"].size // num_shards, sharded["word_ids"].max() + 1
    assert len(sharded["word_byte_lengths"]) == num_shards * word_batches.table_rows(slots,
                                                                                     distinct)
  with pytest.raises(ValueError, match="does not split into 3 equal shards"):
    make(3)


def test_word_tables_deduplicate_repeated_words(label_map):
  sentences = [Sentence(("de", "la", "de", "x" * 70), ("O",) * 4)] * 6
  batch = next(iter(word_batches.WordTrainBatches(
      {"xx/a": sentences}, label_map, batch_size=8, num_shards=2, length_buckets=(4,),
      byte_buckets=(8,), max_word_bytes=8)))
  assert batch["word_bytes"].shape == (2 * 4 * 4, 8)  # a table row per word slot of each shard
  assert np.count_nonzero(batch["word_byte_lengths"]) == 2 * 3  # 3 distinct words per shard
  np.testing.assert_array_equal(batch["word_ids"][:3], batch["word_ids"][3:6])
  assert batch["word_ids"][0, 0] == batch["word_ids"][0, 2] != batch["word_ids"][0, 1]
  assert _words(batch, 2)[5] == [b"de", b"la", b"de", b"x" * 8]
  assert _words(batch, 2)[7] == [b""] * 4  # padding rows point at the empty word


def test_word_types_are_the_distinct_truncated_byte_strings(label_map):
  # "Ж" is 2 bytes: the 5-byte cut splits one, and words equal in their first 5 bytes share a type.
  tokens = ("Москва", "Мос", "Москвы", "abcdefg", "de", "abcdeXY", "Мос", "de")
  packed = word_batches.PackedSentences([Sentence(tokens, ("O",) * 8)], label_map, max_word_bytes=5)
  cut = [t.encode()[:5] for t in tokens]
  first_seen = list(dict.fromkeys(cut))
  np.testing.assert_array_equal(packed.word_type[:-1], [first_seen.index(c) for c in cut])
  assert packed.word_type[-1] == len(first_seen)  # the padding word's own type
  np.testing.assert_array_equal(packed.type_word[:-1], [cut.index(c) for c in first_seen])


def test_sorting_window_limits_padding(languages, label_map):
  def padding(sort_window):
    batches = word_batches.WordTrainBatches(languages, label_map, batch_size=8, num_epochs=1,
                                    sort_window=sort_window, length_buckets=range(1, 41))
    return sum(b["word_ids"].size - b["lengths"].sum() for b in batches)
  assert padding(64) < 0.5 * padding(1)


def test_eval_batches_cover_all_sentences_once_untruncated(languages, label_map):
  sentences = languages["xx/a"]
  eval_batches = word_batches.WordEvalBatches(sentences, label_map, batch_size=16, lang=3,
                                      length_buckets=(8, 16))
  assert eval_batches.length_buckets == (8, 16, 48)  # 48 = the multiple of 16 covering 40 words
  seen = []
  for _ in range(2):  # iterating again gives the same batches
    indices_seen = []
    for batch, indices in zip(eval_batches, eval_batches.indices):
      _check_padding(batch)
      assert batch["word_ids"].shape[1] in eval_batches.length_buckets
      assert np.all((indices == -1) == (batch["lengths"] == 0))
      assert np.all(batch["lang"][indices >= 0] == 3)
      for row, words, tags, _ in _rows(batch, label_map):
        assert (words, tags) == _expected_row(sentences[indices[row]], 10**6)
      indices_seen += indices[indices >= 0].tolist()
    seen.append(indices_seen)
  assert sorted(seen[0]) == list(range(len(sentences))) and seen[0] == seen[1]
  assert len(eval_batches) == 10


@pytest.mark.parametrize("num_shards", [1, 2])
def test_fitted_eval_batches_keep_to_one_bucket_with_the_rows_they_need(languages, label_map,
                                                                         num_shards):
  """`fitted`: every sentence once, each batch's sentences from one length bucket (its shape's),
  a bucket's sentences in equal batches of at most the batch size, each of the rows
  `fitted_rows` gives for them, outputs back per sentence."""
  sentences = languages["xx/a"]
  data = word_batches.WordEvalBatches(sentences, label_map, batch_size=32,
                                      length_buckets=(4, 8, 16), num_shards=num_shards, fitted=True)
  seen = []
  for batch, indices in zip(data, data.indices):
    _check_padding(batch, num_shards)
    real = indices[indices >= 0]
    width = batch["word_ids"].shape[1]
    narrower = max([b for b in data.length_buckets if b < width], default=0)
    lengths = [len(s) for s in sentences]
    assert all(narrower < lengths[i] <= width for i in real)
    in_bucket = sum(narrower < n <= width for n in lengths)
    per_batch = -(-in_bucket // -(-in_bucket // 32))
    assert len(real) in (per_batch, in_bucket % per_batch)
    assert len(indices) == batches_lib.fitted_rows(per_batch, num_shards, 32)
    seen += real.tolist()
  assert sorted(seen) == list(range(len(sentences)))
  assert min(len(i) for i in data.indices) < 32  # a bucket fitted below the batch size
  tags = [batch["tags"] for batch in data]
  assert [label_map.decode(t) for t in data.per_sentence(tags)] == [
      list(s.tags) for s in sentences]


@pytest.mark.parametrize("num_shards", [1, 2])
def test_shared_table_batches_name_rows_of_one_set_of_tables(languages, label_map, num_shards):
  """`shared_table`: the shared tables hold each distinct word once (packed as a batch's table
  is), and each batch's rows read, through `table_ids`, the words a table per batch gives."""
  options = dict(batch_size=16, length_buckets=(4, 8, 16), num_shards=num_shards, fitted=True)
  shared = word_batches.WordEvalBatches(languages["xx/a"], label_map, shared_table=True, **options)
  own = word_batches.WordEvalBatches(languages["xx/a"], label_map, **options)
  words = []
  for table in shared.tables():
    _check_packing(table, num_shards)
    words += [bytes(row[:n].tolist())
              for row, n in zip(table["word_bytes"], table["word_byte_lengths"])]
  real = [word for word in words if word]
  assert len(set(real)) == len(real) == len(set(own.packed.word_type)) - 1
  for batch, expected in zip(shared, own):
    assert set(batch) == KEYS - {"word_bytes", "word_byte_lengths", "pack_offsets",
                                 "pack_lengths"} | {"table_ids"}
    table_ids = batch["table_ids"][global_word_ids(batch, num_shards, "table_ids")]
    assert [[words[i] for i in row] for row in table_ids] == _words(expected, num_shards)
    for key in ("lengths", "tags", "lang"):
      np.testing.assert_array_equal(batch[key], expected[key])


def test_eval_batches_give_per_row_outputs_back_per_sentence(languages, label_map):
  """Each row's output (here: its batch's word tags, as a model's per-word output) comes back as
  its sentence's, in the sentences' order, cut to its words or to given lengths, or uncut."""
  sentences = languages["xx/a"]
  data = word_batches.WordEvalBatches(sentences, label_map, batch_size=16, length_buckets=(8, 16))
  tags = [batch["tags"] for batch in data]
  assert [label_map.decode(t) for t in data.per_sentence(tags)] == [
      list(s.tags) for s in sentences]
  firsts = data.per_sentence(tags, lengths=np.ones(len(sentences), int))
  assert [label_map.decode(t) for t in firsts] == [[s.tags[0]] for s in sentences]
  uncut = data.per_sentence(tags, axis=None)
  assert all(len(row) in data.length_buckets and len(row) >= len(s)
             for row, s in zip(uncut, sentences))


def _take(data: pipeline.TrainIterator, n: int) -> list[dict[str, np.ndarray]]:
  return [next(data) for _ in range(n)]


@pytest.mark.parametrize("mode", ["proportional", "alpha"])
@pytest.mark.parametrize("k", [0, 5, 13, 14])  # 14 batches per epoch: 13 and 14 straddle the end
def test_resume_gives_identical_batches(languages, label_map, mode, k):
  def make():
    return word_batches.WordTrainBatches(languages, label_map, batch_size=16, seed=7,
                                 mixture=mixture.Mixture({"xx/a": 1, "xx/b": 2}, mode, alpha=0.5))
  assert make().batches_per_epoch == 14
  reference = pipeline.TrainIterator(make())  # prefetching: its state counts batches taken
  _take(reference, k)
  state = json.loads(json.dumps(reference.get_state()))
  reference.close()
  reference = iter(make())
  _take(reference, k)
  resumed = pipeline.TrainIterator(make())
  resumed.set_state(state)
  for expected, got in zip(_take(reference, 20), _take(resumed, 20)):
    assert expected.keys() == got.keys()
    for key in expected:
      np.testing.assert_array_equal(expected[key], got[key], err_msg=key)


def test_epochs_differ_and_num_epochs_stops(languages, label_map):
  batches = iter(word_batches.WordTrainBatches(languages, label_map, batch_size=16, num_epochs=2))
  epochs = [_take(batches, 14), _take(batches, 14)]
  with pytest.raises(StopIteration):
    next(batches)
  assert batches.get_state()["next_index"] == 28
  assert not all(np.array_equal(a["lengths"], b["lengths"]) for a, b in zip(*epochs))


def test_set_state_rejects_foreign_state(languages, label_map):
  batches = iter(word_batches.WordTrainBatches(languages, label_map, batch_size=16, seed=1))
  with pytest.raises(ValueError, match="other data"):
    batches.set_state({"epoch": 0, "position": 1, "seed": 2, "num_sentences": 211})
  with pytest.raises(ValueError, match="out of range"):
    batches.set_state({"epoch": 0, "position": 14, "seed": 1, "num_sentences": 211})


def test_states_saved_before_grain_resume_at_their_batch(languages, label_map):
  def make():
    return iter(word_batches.WordTrainBatches(languages, label_map, batch_size=16, seed=1))
  resumed = make()
  resumed.set_state({"epoch": 1, "position": 2, "seed": 1, "num_sentences": 211})
  expected = _take(make(), 17)[-1]
  got = next(resumed)
  for key in expected:
    np.testing.assert_array_equal(expected[key], got[key], err_msg=key)


def test_bad_input_raises(label_map):
  with pytest.raises(ValueError, match="sentence 1 contains an empty token"):
    word_batches.PackedSentences([Sentence(("a",), ("O",)), Sentence(("b", ""), ("O", "O"))], label_map)
  with pytest.raises(ValueError, match="NUL"):
    word_batches.PackedSentences([Sentence(("a\0b",), ("O",))], label_map)
  with pytest.raises(labels.UnknownTagError, match="B-ORG"):
    word_batches.PackedSentences([Sentence(("a",), ("B-ORG",))], label_map)
  with pytest.raises(ValueError, match="length_buckets"):
    word_batches.WordTrainBatches({"x": [Sentence(("a",), ("O",))]}, label_map, batch_size=2,
                          length_buckets=())


def test_byte_buckets_are_capped_by_the_word_length():
  assert word_batches.byte_buckets_for((64, 8, 16, 16, 128), 20) == (8, 16, 20)


def test_demo_languages_batch():
  mix = mixture.Mixture({"demo/aa": 1, "demo/bb": 1}, mode="uniform")
  train = mix.load("train")
  demo_map = labels.LabelMap.from_sentences(s for group in train.values() for s in group)
  batches = word_batches.WordTrainBatches(train, demo_map, batch_size=32, mixture=mix, num_epochs=1)
  total = collections.Counter()
  for batch in batches:
    _check_padding(batch)
    total.update(batch["lang"][batch["lengths"] > 0].tolist())
  assert sum(total.values()) == sum(map(len, train.values()))
  assert abs(total[0] - total[1]) <= 1


def test_conll2003_en_train_epoch_is_exact(data_root):
  train = corpora.load_split("conll2003/en", "train", data_root)
  label_map = labels.LabelMap.from_sentences(train)
  batches = word_batches.WordTrainBatches({"conll2003/en": train}, label_map, batch_size=64, num_epochs=1)
  sentences = tokens = 0
  entity_ids = np.array([i for i, tag in enumerate(label_map.tags) if tag.startswith("B-")])
  entities = 0
  for batch in batches:
    sentences += int(np.sum(batch["lengths"] > 0))
    tokens += int(batch["lengths"].sum())
    entities += int(np.isin(batch["tags"], entity_ids).sum())
  assert batches.num_truncated == 0
  assert (sentences, tokens) == (14_041, 203_621)
  assert entities == sum(tag.startswith("B-") for s in train for tag in s.tags)


@pytest.mark.parametrize("name", ["conll2003/en", "conll2002/es", "conll2002/nl"])
def test_packed_rows_fit_every_conll_batch_tightly(data_root, name):
  """At the cpu preset's batching, `packed_rows` holds every training batch's distinct words (one
  shape per length bucket, no doubling), over 40% of the rows' bytes used (es 60%, en and nl 44%:
  their many one-line sentences need few rows); so does `table_rows`, with fewer rows than word
  slots (es 52%, en and nl 63%)."""
  train = corpora.load_split(name, "train", data_root)
  label_map = labels.LabelMap.from_sentences(train)
  batches = word_batches.WordTrainBatches({name: train}, label_map, batch_size=64, num_epochs=1,
                                  length_buckets=(16, 32, 64, 128), max_word_bytes=16,
                                  byte_buckets=(16,))
  used = capacity = table = all_slots = 0
  for batch in batches:
    slots, width = batch["word_ids"].size, batch["word_bytes"].shape[1]
    assert len(batch["pack_lengths"]) == word_batches.packed_rows(slots, width)
    assert len(batch["word_bytes"]) == word_batches.table_rows(slots, 0)
    used += int(batch["pack_lengths"].sum())
    capacity += batch["pack_lengths"].size * width
    table += len(batch["word_bytes"])
    all_slots += slots
  assert used / capacity > 0.4 and table / all_slots < 0.65
