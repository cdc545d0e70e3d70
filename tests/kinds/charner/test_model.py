"""CharNER: the word-consistent byte Viterbi against brute force and on every sentence of two real
dev sets, and the module at tiny sizes (shapes, dropout, padding, loss, a few training steps)."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data.conll import Sentence
from polyglot_ner.kinds.charner import batches as bb
from polyglot_ner.kinds.charner import decode
from polyglot_ner.kinds.charner import model as charner

# Decoding.

ROUND_TRIP_BUCKETS = (256, 1024)


@functools.partial(jax.jit, static_argnums=1)
def _one_hot_word_tags(batch, num_classes):
  """Word tags decoded from one-hot gold byte scores, in both scorings."""
  logits = jax.nn.one_hot(batch["labels"], num_classes)
  return tuple(
      decode.word_tags(decode.viterbi(logits, batch["lengths"], batch["kinds"],
                                      scoring=scoring)[0], batch["kinds"])
      for scoring in decode.SCORINGS)


def _round_trip_mismatches(sentences, label_map, length_buckets, batch_size):
  """Sentences whose gold IOB2 tags do not come back from one-hot gold byte scores."""
  data = bb.ByteEvalBatches(sentences, label_map, batch_size=batch_size,
                            length_buckets=length_buckets)
  num_classes = len(bb.byte_classes(label_map))
  bad = []
  for batch, indices in zip(data, data.indices):
    for tags in _one_hot_word_tags(batch, num_classes):
      tags = np.asarray(tags)
      for row, index in enumerate(indices):
        if index >= 0:
          sentence = sentences[index]
          assert np.all(tags[row, len(sentence):] == 0)
          if label_map.decode(tags[row, :len(sentence)]) != list(sentence.tags):
            bad.append(sentence)
  return bad


def test_round_trip_hand_case():
  """I- after B-, B- after I- and B- after B- of one type, and a change of type (the shapes of the
  real-data test, so one compiled program serves both)."""
  sentence = Sentence(("John", "Smith", "visited", "New", "York", "Zürich", "x", "y"),
                      ("B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC", "B-LOC", "B-PER"))
  label_map = labels.LabelMap(["LOC", "MISC", "ORG", "PER"])
  assert not _round_trip_mismatches([sentence], label_map, ROUND_TRIP_BUCKETS, 512)


@pytest.mark.parametrize("name", ["conll2002/es", "conll2003/en"])
def test_round_trip_on_every_dev_sentence(data_root, name):
  """Gold word tags (IOB2, from an IOB1 source for en) -> byte labels -> Viterbi of one-hot gold
  scores -> word tags: exactly the gold tags, for every sentence, in both scorings."""
  dev = corpora.load_split(name, "dev", data_root)
  label_map = labels.LabelMap.from_sentences(dev)
  assert len(bb.byte_classes(label_map)) == 5  # one compiled program for both languages
  assert not _round_trip_mismatches(dev, label_map, ROUND_TRIP_BUCKETS, 512)


def _allowed_by_words(kinds, num_classes):
  """Every byte labelling that the word-level rules allow, enumerated word by word: one label
  per word; a space is O or the previous word's label; a word after a non-O space
  carries that label."""
  words = np.cumsum(kinds == bb.WORD_START) - 1
  num_words = words[-1] + 1
  result = set()
  for word_labels in itertools.product(range(num_classes), repeat=num_words):
    for space_labels in itertools.product((False, True), repeat=num_words - 1):
      if any(keep and word_labels[i] != word_labels[i + 1] for i, keep in enumerate(space_labels)):
        continue
      result.add(tuple(
          (word_labels[words[t]] if space_labels[words[t]] else 0) if kind == bb.SPACE
          else word_labels[words[t]] for t, kind in enumerate(kinds)))
  return result


def _paper_viterbi(scores, kinds):
  """The paper's decoder (`utils.viterbi_decode` with CharNER's 0/-inf transitions, research-notes
  §2.2) for one row: trellis[t] = scores[t] + max over allowed previous labels, by byte."""
  steps, num_classes = scores.shape
  same = np.eye(num_classes, dtype=bool)
  trellis = scores[0].copy()
  pointers = []
  for t in range(1, steps):
    if kinds[t - 1] == bb.SPACE:  # after a space: stay, or leave O for anything
      allowed = same | (np.arange(num_classes) == 0)[:, None]
    elif kinds[t] == bb.SPACE:  # into a space: stay, or move to O
      allowed = same | (np.arange(num_classes) == 0)[None, :]
    else:
      allowed = same
    candidates = np.where(allowed, trellis[:, None], -np.inf)  # [previous, next]
    pointers.append(np.argmax(candidates, axis=0))
    trellis = scores[t] + np.max(candidates, axis=0)
  path = [int(np.argmax(trellis))]
  for pointer in reversed(pointers):
    path.append(int(pointer[path[-1]]))
  return tuple(reversed(path)), float(np.max(trellis))


def _random_kinds(rng, max_words, max_word_bytes):
  kinds = []
  for i in range(rng.integers(1, max_words + 1)):
    kinds += [bb.SPACE] * (i > 0) + [bb.WORD_START]
    kinds += [bb.INSIDE] * int(rng.integers(0, max_word_bytes))
  return np.array(kinds)


ROWS, WIDTH, CLASSES = 16, 96, 3  # one shape, so that one compiled program serves every test


def _random_rows(rng, max_words, max_word_bytes):
  """Random kinds, lengths and logits; the last row is padding."""
  kinds = np.zeros((ROWS, WIDTH), np.int32)
  lengths = np.zeros(ROWS, np.int32)
  for row in range(ROWS - 1):
    row_kinds = _random_kinds(rng, max_words, max_word_bytes)
    lengths[row] = len(row_kinds)
    kinds[row, :len(row_kinds)] = row_kinds
  logits = rng.normal(size=(ROWS, WIDTH, CLASSES)).astype(np.float32) * 2
  return logits, lengths, kinds


@jax.jit
def _decode_both(logits, lengths, kinds):
  """{scoring: (byte labels, best score, per-byte scores)} for both scorings."""
  return {scoring: (*decode.viterbi(logits, lengths, kinds, scoring=scoring),
                    decode.byte_scores(logits, scoring)) for scoring in decode.SCORINGS}


@pytest.mark.parametrize("scoring", decode.SCORINGS)
def test_viterbi_is_the_best_allowed_labelling(scoring):
  """Against brute force over every labelling the word rules allow, on short rows."""
  logits, lengths, kinds = _random_rows(np.random.default_rng(1), 3, 2)
  labels_, best, scores = map(np.asarray, _decode_both(logits, lengths, kinds)[scoring])
  for row, n in enumerate(lengths):
    candidates = _allowed_by_words(kinds[row, :n], CLASSES) if n else {()}
    totals = {path: scores[row, np.arange(n), list(path)].sum() for path in candidates}
    expected = max(totals, key=totals.get)
    assert tuple(labels_[row, :n]) == expected
    assert np.all(labels_[row, n:] == 0)
    np.testing.assert_allclose(best[row], totals[expected], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scoring", decode.SCORINGS)
def test_viterbi_equals_the_papers_byte_viterbi(scoring):
  """Against a port of the paper's per-byte decoder, on longer rows."""
  logits, lengths, kinds = _random_rows(np.random.default_rng(2), 12, 6)
  labels_, best, scores = map(np.asarray, _decode_both(logits, lengths, kinds)[scoring])
  for row, n in enumerate(lengths[:-1]):
    path, score = _paper_viterbi(scores[row, :n], kinds[row, :n])
    assert tuple(labels_[row, :n]) == path
    np.testing.assert_allclose(best[row], score, rtol=1e-5, atol=1e-5)
  assert best[-1] == 0 and np.all(labels_[-1] == 0)


def test_scorings_can_disagree():
  """A three-byte word, two bytes 99% class 1 and one 99.9999% class 2: probabilities add to
  1.98 for class 1 against 1.02, log-probabilities to -13.8 against -9.2."""
  kinds = np.zeros((ROWS, WIDTH), np.int32)
  kinds[0, :3] = [bb.WORD_START, bb.INSIDE, bb.INSIDE]
  logits = np.zeros((ROWS, WIDTH, CLASSES), np.float32)
  logits[0, :3] = np.log([[1e-9, 0.99, 0.01], [1e-9, 0.99, 0.01], [1e-9, 1e-6, 1 - 1e-6]])
  lengths = np.zeros(ROWS, np.int32)
  lengths[0] = 3
  decoded = _decode_both(logits, lengths, kinds)
  assert decoded["prob"][0][0, :3].tolist() == [1] * 3
  assert decoded["log_prob"][0][0, :3].tolist() == [2] * 3


def test_unknown_scoring_raises():
  with pytest.raises(ValueError, match="unknown scoring 'probs'"):
    decode.byte_scores(np.zeros((1, 1, 2)), "probs")


# The module.

SENTENCES = [
    Sentence(("Ana", "vive", "en", "São", "Paulo", "."),
             ("B-PER", "O", "O", "B-LOC", "I-LOC", "O")),
    Sentence(("Zürich", "!"), ("B-LOC", "O")),
    Sentence(("x",), ("B-PER",)),
]
LABEL_MAP = labels.LabelMap(["LOC", "PER"])
NUM_CLASSES = 3
MODEL = charner.CharNER(NUM_CLASSES, emb_dim=8, hidden=6, output_dropout=(0.5, 0.8))


@pytest.fixture(scope="module")
def batch():
  data = bb.ByteEvalBatches(SENTENCES, LABEL_MAP, batch_size=4, length_buckets=(32,))
  (batch,) = list(data)
  return {key: jnp.asarray(value) for key, value in batch.items()}


@pytest.fixture(scope="module")
def params(batch):
  return jax.jit(lambda b: MODEL.init(jax.random.PRNGKey(0), b, train=False)["params"])(batch)


@jax.jit
def _logits(params, batch, rng):
  """Logits without and with dropout, in one compiled program."""
  return (MODEL.apply({"params": params}, batch, train=False),
          MODEL.apply({"params": params}, batch, train=True, rngs={"dropout": rng}))


def test_paper_sizes_by_default():
  model = charner.CharNER(5)
  batch = {"bytes": jnp.ones((1, 1), jnp.int32), "lengths": jnp.ones((1,), jnp.int32)}
  shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), batch, train=False))["params"]
  assert list(shapes) == ["byte_embedding"] + [f"layer_{k}" for k in range(5)] + ["output"]
  assert shapes["byte_embedding"]["embedding"].shape == (256, 128)
  assert shapes["layer_0"]["fw"]["kernel"].shape == (128 + 128, 4 * 128)
  assert shapes["layer_4"]["bw"]["kernel"].shape == (256 + 128, 4 * 128)
  assert shapes["output"]["kernel"].shape == (256, 5)
  assert model.output_dropout == (0.5, 0.5, 0.5, 0.5, 0.8) and model.emb_dropout == 0.2


def test_emb_std_draws_a_normal_embedding():
  """Glorot-uniform by default (|x| <= sqrt(6 / (256 + 64))); `emb_std` > 0: N(0, emb_std)."""
  batch = {"bytes": jnp.ones((1, 1), jnp.int32), "lengths": jnp.ones((1,), jnp.int32)}
  def embedding(**fields):
    model = charner.CharNER(NUM_CLASSES, emb_dim=64, hidden=4, output_dropout=(0.0,), **fields)
    params = model.init(jax.random.PRNGKey(0), batch, train=False)["params"]
    return np.asarray(params["byte_embedding"]["embedding"])
  assert np.abs(embedding()).max() <= np.sqrt(6 / (256 + 64))
  assert 0.95 < embedding(emb_std=1.0).std() < 1.05


def test_padding_changes_nothing_and_dropout_only_in_training(params, batch):
  clean, dropped = _logits(params, batch, jax.random.PRNGKey(1))
  assert clean.shape == (4, 32, NUM_CLASSES)
  real = np.arange(32) < np.asarray(batch["lengths"])[:, None]
  garbage = dict(batch, bytes=jnp.where(real, batch["bytes"], 97))
  np.testing.assert_allclose(_logits(params, garbage, jax.random.PRNGKey(1))[0][real],
                             clean[real], rtol=1e-6, atol=1e-6)
  assert not np.allclose(dropped[real], clean[real])


def test_byte_dropout_drops_whole_byte_vectors(batch):
  """Without LSTM layers the logits are a dense layer (zero bias) of the embeddings: a dropped
  byte has all-zero logits, a kept one none, and about the rate of the bytes are dropped."""
  model = charner.CharNER(NUM_CLASSES, emb_dim=16, emb_dropout=0.5, output_dropout=())
  wide = {"bytes": jnp.ones((8, 512), jnp.int32) * 97, "lengths": jnp.full((8,), 512, jnp.int32)}
  @jax.jit
  def logits_fn(wide):
    variables = model.init(jax.random.PRNGKey(0), wide, train=False)
    return model.apply(variables, wide, train=True, rngs={"dropout": jax.random.PRNGKey(2)})
  logits = logits_fn(wide)
  zero = np.asarray(logits == 0)
  assert np.all(zero.all(-1) == zero.any(-1))
  assert 0.45 < zero.all(-1).mean() < 0.55


def test_byte_cross_entropy_sums_and_counts(params, batch):
  logits = np.asarray(_logits(params, batch, jax.random.PRNGKey(1))[0])
  sums, counts = charner.byte_cross_entropy(logits, batch["labels"], batch["lengths"])
  for row, length in enumerate(np.asarray(batch["lengths"])):
    expected = sum(np.log(np.exp(logits[row, t]).sum()) - logits[row, t, batch["labels"][row, t]]
                   for t in range(length))
    np.testing.assert_allclose(sums[row], expected, rtol=1e-5)
    assert counts[row] == length
  assert sums[3] == counts[3] == 0  # the padding row


def test_a_few_adam_steps_lower_the_loss(params, batch):
  optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))

  def loss_fn(p, rng):
    logits = MODEL.apply({"params": p}, batch, train=True, rngs={"dropout": rng})
    sums, counts = charner.byte_cross_entropy(logits, batch["labels"], batch["lengths"])
    return jnp.sum(sums) / jnp.maximum(jnp.sum(counts), 1.0)

  @jax.jit
  def train(p):
    def step(carry, rng):
      p, state = carry
      loss, grads = jax.value_and_grad(loss_fn)(p, rng)
      updates, state = optimizer.update(grads, state, p)
      return (optax.apply_updates(p, updates), state), loss
    (p, _), losses = jax.lax.scan(step, (p, optimizer.init(p)),
                                  jax.random.split(jax.random.PRNGKey(3), 30))
    return losses, loss_fn(p, jax.random.PRNGKey(4))

  losses, final = train(params)
  assert np.all(np.isfinite(losses))
  assert final < 0.7 * losses[0]
