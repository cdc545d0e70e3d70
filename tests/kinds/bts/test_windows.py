"""Byte-to-Span's windows: targets checked against gold entities found independently (word by word),
the original's test windows and conflict resolution transcribed as references, exact coverage and
resumption of sampled training windows, and the round trip of real dev sets (windows -> gold
triples -> stitched word tags) that loses exactly the entities no window holds."""

import json

import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture
from polyglot_ner.data import pipeline
from polyglot_ner.data import tags as tags_lib
from polyglot_ner.data.conll import Sentence
from polyglot_ner.kinds.bts import windows as bw

ALPHABET = list("abcdefghij") + ["é", "ß", "中"]
TYPES = ("LOC", "PER")


def _random_sentences(rng, n, max_len=10):
  """Random multi-byte words with valid IOB2 tags (I- only after the same type)."""
  sentences = []
  for _ in range(n):
    tokens, tags, previous = [], [], "O"
    for _ in range(int(rng.integers(1, max_len + 1))):
      tokens.append("".join(rng.choice(ALPHABET, size=rng.integers(1, 6))))
      type_ = rng.choice(["O", "O", "PER", "LOC"])
      tags.append("O" if type_ == "O" else
                  ("I-" if previous == type_ and rng.random() < 0.6 else "B-") + type_)
      previous = type_
    sentences.append(Sentence(tuple(tokens), tuple(tags)))
  return sentences


def _gold_entities(sentences):
  """(start, end, type) of every gold entity in the stream, word by word: a word's bytes, then one
  space (between words and after each sentence)."""
  entities, offset = [], 0
  for sentence in sentences:
    starts = []
    for token in sentence.tokens:
      starts.append(offset)
      offset += len(token.encode()) + 1
    for type_, first, end in tags_lib.spans(sentence.tags):
      last = sentence.tokens[end - 1]
      entities.append((starts[first], starts[end - 1] + len(last.encode()), type_))
  return entities, offset


def _stream_bytes(sentences):
  return b"".join(" ".join(s.tokens).encode() + b" " for s in sentences)


def _decoded_targets(batch, vocabulary):
  names = vocabulary.names()
  return [[names[t] for t in batch["targets"][row, :batch["target_lengths"][row]]]
          for row in range(len(batch["lengths"]))]


def _expected_targets(entities, start, end):
  inside = sorted((e for e in entities if start <= e[0] and e[1] <= end), reverse=True)
  return [token for s, e, type_ in inside for token in (f"S:{s - start}", f"L:{e - s}", type_)] + [
      "STOP"]


@pytest.fixture(scope="module")
def languages():
  rng = np.random.default_rng(0)
  return {"x/a": _random_sentences(rng, 120), "x/b": _random_sentences(rng, 50)}


def test_the_research_notes_example():
  vocabulary = bw.Vocabulary(("LOC", "PER"), 60)
  sentence = Sentence(("Santo", "Domingo", "Al"), ("B-LOC", "I-LOC", "B-PER"))
  windows = bw.WindowEvalBatches([sentence], vocabulary, batch_size=2)
  (batch,) = list(windows)
  assert _decoded_targets(batch, vocabulary)[0] == ["S:14", "L:2", "PER", "S:0", "L:13", "LOC",
                                                    "STOP"]
  assert batch["lengths"].tolist() == [17, 0] and batch["target_lengths"].tolist() == [7, 0]
  assert bytes(batch["bytes"][0, :17].tolist()) == b"Santo Domingo Al "
  assert vocabulary.size == 2 + 2 + 120
  assert bw.Vocabulary(("LOC", "MISC", "ORG", "PER"), 60).size == 126


def test_training_windows_hold_their_bytes_and_gold_targets(languages):
  vocabulary = bw.Vocabulary(TYPES, 24)
  batches = bw.WindowTrainBatches(languages, vocabulary, batch_size=8, span_buckets=(2, 4),
                                  num_shards=2)
  streams = {name: _stream_bytes(s) for name, s in languages.items()}
  entities = {name: _gold_entities(s)[0] for name, s in languages.items()}
  begin = {"x/a": 0, "x/b": len(streams["x/a"])}
  plan = batches.epoch_plan(0)
  for starts in plan[:20]:
    batch = batches.packed.batch(starts, 8, batches.length_buckets, 2)
    assert batch["targets"].shape[1] in (7, 13) or batch["targets"].shape[1] % 12 == 1
    targets = _decoded_targets(batch, vocabulary)
    for row, start in enumerate(starts):
      name = list(languages)[batch["lang"][row]]
      local = start - begin[name]
      end = min(local + 24, len(streams[name]))  # never past its language's stream
      assert batch["lengths"][row] == end - local
      assert bytes(batch["bytes"][row, :end - local].tolist()) == streams[name][local:end]
      assert targets[row] == _expected_targets(entities[name], local, end)


def test_an_epoch_draws_every_slot_once_at_a_random_byte(languages):
  vocabulary = bw.Vocabulary(TYPES, 24)
  batches = bw.WindowTrainBatches(languages, vocabulary, batch_size=8)
  sizes = [len(_stream_bytes(s)) for s in languages.values()]
  assert batches.sizes == [-(-n // 24) for n in sizes]
  assert batches.batches_per_epoch == -(-sum(batches.sizes) // 8)
  offsets = []
  for epoch in range(2):
    starts = np.concatenate(batches.epoch_plan(epoch))
    for lang, (begin, size) in enumerate(zip((0, sizes[0]), sizes)):
      mine = starts[(starts >= begin) & (starts < begin + size)] - begin
      assert sorted(mine // 24) == list(range(batches.sizes[lang]))  # each slot once
      offsets.append(mine % 24)
  offsets = np.concatenate(offsets)
  assert offsets.min() == 0 and offsets.max() == 23 and abs(offsets.mean() - 11.5) < 2
  assert not np.array_equal(np.concatenate(batches.epoch_plan(0)),
                            np.concatenate(batches.epoch_plan(1)))


@pytest.mark.parametrize("k", [0, 3, 11])
def test_resume_gives_identical_batches(languages, k):
  vocabulary = bw.Vocabulary(TYPES, 24)

  def make():
    return bw.WindowTrainBatches(languages, vocabulary, batch_size=8, seed=3,
                                 mixture=mixture.Mixture({"x/a": 1, "x/b": 2}, "uniform"))

  reference = iter(make())
  expected = [next(reference) for _ in range(k + 4)]
  first = pipeline.TrainIterator(make())
  for _ in range(k):
    next(first)
  resumed = iter(make())
  resumed.set_state(json.loads(json.dumps(first.get_state())))
  for want in expected[k:]:
    got = next(resumed)
    assert set(got) == {"bytes", "lengths", "lang", "targets", "target_lengths"}
    for key in want:
      np.testing.assert_array_equal(got[key], want[key])


def test_the_original_test_windows():
  def original(num_bytes, window, stride):  # Byte2SpanDSLevelTestGenerator.num_steps
    max_start = max(num_bytes - window, 0)
    steps = max_start // stride + 1 if max_start % stride == 0 else max_start // stride + 2
    return [i * stride for i in range(steps)]

  for num_bytes in (1, 30, 59, 60, 61, 89, 90, 91, 150, 1234):
    assert bw.eval_window_starts(num_bytes, 60, 30).tolist() == original(num_bytes, 60, 30)
  assert bw.eval_window_starts(0, 60, 30).tolist() == []
  with pytest.raises(errors.UserError, match="stride"):
    bw.eval_window_starts(100, 60, 61)


def _original_resolution(start, length, relative):
  """Byte2SpanPredictor.filter_predicted_spans, transcribed."""
  spans = sorted(range(len(start)), key=lambda i: start[i])
  kept, cur_idx = [], 0
  while cur_idx < len(spans):
    cur = spans[cur_idx]
    for i in range(cur_idx + 1, len(spans)):
      compare = spans[i]
      if start[compare] < start[cur] + length[cur]:
        if relative[compare] < relative[cur]:
          cur = compare
        cur_idx += 1
      else:
        break
    kept.append(cur)
    cur_idx += 1
  return kept


def test_conflicts_resolve_as_the_original():
  """The original's rule is priority = minus the start within the span's window; any other
  priority (the decoder's log-probability) replaces it: the higher wins, ties keep the earlier."""
  rng = np.random.default_rng(1)
  for _ in range(200):
    n = int(rng.integers(0, 12))
    start, length = rng.integers(0, 40, n), rng.integers(1, 10, n)
    relative = rng.integers(0, 30, n)
    kept = bw.resolve_conflicts(start, length, -relative)
    assert kept.tolist() == _original_resolution(start.tolist(), length.tolist(),
                                                 relative.tolist())
    assert np.all(start[kept][1:] >= (start + length)[kept][:-1])  # disjoint, increasing
    log_prob = -rng.exponential(size=n)
    assert bw.resolve_conflicts(start, length, log_prob).tolist() == _original_resolution(
        start.tolist(), length.tolist(), (-log_prob).tolist())


@pytest.mark.parametrize("conflicts, survivor", [("confidence", "PER"),
                                                 ("window_start", "LOC")])
def test_overlapping_spans_of_two_windows_keep_the_rule_s_survivor(conflicts, survivor):
  """Windows at bytes 0 and 30 both see bytes 40-49: the first window (its span starting at 40
  of 60) is sure it is PER, the second (starting at 10 of its 60) guesses LOC."""
  sentences = [Sentence(("x" * 39, "y" * 10, "z" * 40), ("O",) * 3)]
  vocabulary = bw.Vocabulary(TYPES, 60)
  data = bw.WindowEvalBatches(sentences, vocabulary, batch_size=4, conflicts=conflicts)
  assert data.starts.tolist() == [0, 30, 60]
  s, l, t, stop = (vocabulary.first_start, vocabulary.first_length, vocabulary.first_type,
                   vocabulary.STOP)
  per, loc = t + TYPES.index("PER"), t + TYPES.index("LOC")
  tokens = np.array([[s + 40, l + 9, per, stop], [s + 10, l + 9, loc, stop],
                     [stop] * 4, [stop] * 4])
  log_probs = np.array([[-0.1, -0.1, -0.1, 0.0], [-0.5, -0.5, -0.5, 0.0], [0.0] * 4, [0.0] * 4])
  [tags] = data.word_tags([(tokens, log_probs)])
  assert tags == ["O", f"B-{survivor}", "O"]


def test_an_unknown_conflict_rule_is_a_user_error():
  with pytest.raises(errors.UserError, match="span_conflicts.*'confidence', 'window_start'"):
    bw.WindowEvalBatches([Sentence(("a",), ("O",))], bw.Vocabulary(TYPES, 60), batch_size=2,
                         conflicts="first")


def test_spans_become_word_tags_as_the_original():
  sentences = [Sentence(("New", "York", "Times", "says"), ("O",) * 4),
               Sentence(("Ana", "Ana", "x"), ("O",) * 3)]
  stream = bw.ByteStream(sentences)  # "New York Times says Ana Ana x "
  # LOC "New York", ORG starting at the space before "Times", PER ending inside "says": no word
  # of it ends inside it; then PER "Ana Ana" as one span: the second word is I- of the first.
  tags = bw.word_tags(stream, np.array([0, 8, 16, 20]), np.array([8, 6, 2, 7]),
                      np.array(["LOC", "ORG", "PER", "PER"]))
  assert tags == [["B-LOC", "I-LOC", "B-ORG", "O"], ["B-PER", "I-PER", "O"]]
  assert bw.word_tags(stream, np.zeros(0, int), np.zeros(0, int), np.zeros(0, str)) == [
      ["O"] * 4, ["O"] * 3]


def test_token_rows_must_keep_the_grammar():
  vocabulary = bw.Vocabulary(TYPES, 10)
  s, l, t = vocabulary.first_start, vocabulary.first_length, vocabulary.first_type
  good = np.array([[s + 5, l + 2, t + 1, s + 0, l + 0, t, 0], [0] * 7])
  count, start, length, type_ = vocabulary.spans(good)
  assert count.tolist() == [2, 0] and start[0].tolist() == [5, 0]
  assert length[0].tolist() == [3, 1] and type_[0].tolist() == [1, 0]
  for bad in ([l, s, t, 0, 0, 0, 0], [s, l, t, s, 0, 0, 0], [s, l, t, 0, s, l, t],
              [s, l, t, s, l, t, s]):
    with pytest.raises(ValueError, match="grammar"):
      vocabulary.spans(np.array([bad]))


def test_a_type_outside_the_vocabulary_is_a_user_error():
  with pytest.raises(errors.UserError, match=r"\['ORG'\].*\['LOC', 'PER'\]"):
    bw.WindowEvalBatches([Sentence(("a",), ("B-ORG",))], bw.Vocabulary(TYPES, 60), batch_size=2)


@pytest.mark.parametrize("name", ["conll2002/es", "conll2003/en"])
def test_dev_round_trip_loses_exactly_the_entities_no_window_holds(data_root, name):
  sentences = corpora.load_split(name, "dev", data_root)
  vocabulary = bw.Vocabulary(labels.LabelMap.from_sentences(sentences).types, 60)
  windows = bw.WindowEvalBatches(sentences, vocabulary, batch_size=128, num_shards=4)
  # Gold targets, every span as probable as any other: duplicates of a span in two windows tie.
  predicted = windows.word_tags([(batch["targets"], np.zeros(batch["targets"].shape))
                                 for batch in windows])

  entities, num_bytes = _gold_entities(sentences)
  assert len(windows.stream) == num_bytes == len(_stream_bytes(sentences))
  starts = np.arange(0, max(num_bytes - 60, 0) + 30 + 29, 30)[:len(windows.starts)]
  ends = np.minimum(starts + 60, num_bytes)
  held = [bool(np.any((starts <= s) & (e <= ends))) for s, e, _ in entities]
  notes = bw.unreachable_entities(windows.stream, 60, 30)
  assert notes == {"entities": len(entities),
                   "entities_longer_than_window": sum(e - s > 60 for s, e, _ in entities),
                   "entities_in_no_window": held.count(False)}
  assert notes["entities_in_no_window"] > notes["entities_longer_than_window"] > 0

  kept = iter(held)
  expected = [tags_lib.tags_from_spans([c for c in tags_lib.spans(s.tags) if next(kept)], len(s))
              for s in sentences]
  assert predicted == expected
  differ = sum(p != list(s.tags) for p, s in zip(predicted, sentences))
  assert 0 < differ <= notes["entities_in_no_window"]
