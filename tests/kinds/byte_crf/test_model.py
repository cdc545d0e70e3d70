"""The byte CRF at tiny sizes: shapes, gradients, decoding (constrained to valid IOB2 or not), and
that padding changes nothing."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import tags as tags_lib
from polyglot_ner.kinds.byte_crf import batches
from polyglot_ner.kinds.byte_crf import model as byte_crf
from polyglot_ner.models import crf as crf_lib

LABELS = labels_lib.LabelMap(["LOC", "PER"]).tags  # O, B-LOC, I-LOC, B-PER, I-PER
NUM_TAGS = len(LABELS)
SENTENCES = [  # (words, tag ids): valid IOB2
    (["Ana", "vive", "en", "São", "Paulo"], [3, 0, 0, 1, 2]),
    (["Zürich", "!"], [1, 0]),
    (["x"], [3]),
]


def make_batch(steps, width, garbage_seed=None):
  """A word-level batch with one padding row and a table of the distinct words; garbage (if
  seeded) fills every padded slot, adds unused table rows and shuffles the table."""
  rows = len(SENTENCES) + 1
  rng = np.random.default_rng(garbage_seed)
  garbage = garbage_seed is not None
  words = sorted({word for sentence, _ in SENTENCES for word in sentence})
  table_size = len(words) + (5 if garbage else 0)
  order = rng.permutation(table_size) if garbage else np.arange(table_size)  # table row of word i
  def filler(high, shape):
    return rng.integers(0, high, shape) if garbage else np.zeros(shape)
  batch = {
      "word_bytes": filler(256, (table_size, width)),
      "word_byte_lengths": filler(width + 1, table_size),
      "word_ids": filler(table_size, (rows, steps)),
      "lengths": np.zeros(rows),
      "tags": filler(NUM_TAGS, (rows, steps)),
      "lang": np.zeros(rows),
  }
  batch = {key: value.astype(np.int32) for key, value in batch.items()}
  for word, row in zip(words, order):
    data = list(word.encode("utf-8"))[:width]
    batch["word_bytes"][row, :len(data)] = data
    batch["word_byte_lengths"][row] = len(data)
  for row, (sentence, tags) in enumerate(SENTENCES):
    batch["lengths"][row] = len(sentence)
    batch["tags"][row, :len(tags)] = tags
    batch["word_ids"][row, :len(sentence)] = [order[words.index(word)] for word in sentence]
  batch["pack_offsets"], batch["pack_lengths"] = batches.pack_words(batch["word_byte_lengths"],
                                                                     width)
  return batch


MODEL = byte_crf.ByteCRF(LABELS, byte_emb_dim=8, byte_hidden=6, word_hidden=7)
# The paper's CRF: unconstrained decoding (and training, as MODEL).
FREE = MODEL.clone(constrained_decoding=False)
CONSTRAINED_TRAINING = MODEL.clone(constrained_training=True)


@jax.jit
def evaluate(params, batch):
  """Every inference output in one compiled program (compiles dominate this file's run time)."""
  def run(model, batch):
    tags, score = model.decode(batch)
    return {"log_likelihood": model(batch, train=False),
            "emissions": model.emissions(batch, train=False), "tags": tags, "score": score}
  return MODEL.apply({"params": params}, batch, method=run)


@jax.jit
def switched(params, batch):
  """The outputs that the switches change: unconstrained decoding, constrained likelihood."""
  free_tags, free_score = FREE.apply({"params": params}, batch, method="decode")
  constrained = CONSTRAINED_TRAINING.apply({"params": params}, batch, train=False)
  return {"tags": free_tags, "score": free_score, "log_likelihood": constrained}


@jax.jit
def train_loss_and_grad(params, batch, dropout_key):
  def loss(params):
    return -MODEL.apply({"params": params}, batch, train=True, rngs={"dropout": dropout_key}).sum()
  return jax.value_and_grad(loss)(params)


@pytest.fixture(scope="module")
def params():
  return jax.jit(lambda batch: MODEL.init(jax.random.key(0), batch, train=False))(
      make_batch(6, 8))["params"]


@pytest.fixture(scope="module")
def clean():
  return make_batch(6, 8)


@pytest.fixture(scope="module")
def outputs(params, clean):
  return evaluate(params, clean)


def test_param_tree_and_shapes(params, outputs):
  assert set(params) == {"byte_embedding", "byte_encoder", "word_encoder", "output", "crf"}
  assert params["byte_embedding"]["embedding"].shape == (256, 8)
  assert set(params["byte_encoder"]) == {"layer_0", "layer_1"}
  # the word vector is the final h of 2 layers x 2 directions of the byte encoder
  assert params["word_encoder"]["layer_0"]["fw"]["kernel"].shape == (4 * 6 + 7, 4 * 7)
  assert params["output"]["kernel"].shape == (2 * 7, NUM_TAGS)
  assert set(params["crf"]) == {"transitions"}
  assert outputs["emissions"].shape == (4, 6, NUM_TAGS)
  assert outputs["log_likelihood"].shape == (4,)


def test_byte_embedding_init_is_tf_truncated_normal():
  values = np.asarray(byte_crf.tf_truncated_normal(0.001)(jax.random.key(0), (256, 64)))
  assert np.abs(values).max() <= 0.002
  assert 0.0008 < values.std() < 0.0009  # std of N(0, 1) truncated at 2 sigma is 0.88


def test_log_likelihood_of_real_rows_and_of_padding(outputs):
  log_likelihood = outputs["log_likelihood"]
  assert np.all(np.isfinite(log_likelihood)) and np.all(log_likelihood[:3] < 0)
  assert log_likelihood[3] == 0.0


def test_gradients_are_finite_and_reach_every_parameter(params, clean):
  _, grads = train_loss_and_grad(params, clean, jax.random.key(1))
  for path, grad in jax.tree_util.tree_leaves_with_path(grads):
    assert np.all(np.isfinite(grad)), jax.tree_util.keystr(path)
    assert np.any(grad != 0), jax.tree_util.keystr(path)
  embedding_grad = np.abs(grads["byte_embedding"]["embedding"]).sum(-1)
  seen = {b for words, _ in SENTENCES for word in words for b in word.encode("utf-8")}
  assert set(np.flatnonzero(embedding_grad)) == seen  # pad byte 0 and unseen bytes get nothing


def test_decode_is_viterbi_within_lengths(params, clean, outputs):
  tags, score = outputs["tags"], outputs["score"]
  assert tags.shape == (4, 6) and tags.dtype == jnp.int32
  assert np.all((tags >= 0) & (tags < NUM_TAGS))
  for row, length in enumerate(clean["lengths"]):
    assert not np.any(tags[row, length:])
  args = (outputs["emissions"], clean["lengths"], params["crf"]["transitions"])
  sequence_score = lambda tags: crf_lib.log_likelihood(args[0], tags, *args[1:]) + (
      crf_lib.log_partition(*args))
  np.testing.assert_allclose(score, sequence_score(tags), rtol=1e-5, atol=1e-6)
  assert np.all(score >= sequence_score(clean["tags"]) - 1e-5)


@pytest.mark.parametrize("steps,width", [(6, 8), (9, 16)])
def test_padding_changes_nothing(params, clean, outputs, steps, width):
  """Garbage in padded bytes, words, rows and table entries, a shuffled table, and bigger buckets,
  give the same results."""
  noisy = evaluate(params, make_batch(steps, width, garbage_seed=steps))
  for key in ("log_likelihood", "score"):
    np.testing.assert_allclose(noisy[key], outputs[key], rtol=1e-5, atol=1e-6)
  for row, length in enumerate(clean["lengths"]):
    np.testing.assert_allclose(noisy["emissions"][row, :length], outputs["emissions"][row, :length],
                               rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(noisy["tags"][:, :6], outputs["tags"])
  assert not np.any(noisy["tags"][:, 6:])


def test_dropout_only_in_training(params, clean, outputs):
  np.testing.assert_array_equal(evaluate(params, clean)["log_likelihood"],
                                outputs["log_likelihood"])
  first, _ = train_loss_and_grad(params, clean, jax.random.key(1))
  again, _ = train_loss_and_grad(params, clean, jax.random.key(1))
  other, _ = train_loss_and_grad(params, clean, jax.random.key(2))
  assert first == again
  assert len({-float(outputs["log_likelihood"].sum()), float(first), float(other)}) == 3


def test_paper_sizes_by_default():
  model = byte_crf.ByteCRF(LABELS)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), make_batch(6, 8), train=False))
  params = shapes["params"]
  assert params["byte_embedding"]["embedding"].shape == (256, 256)
  assert params["byte_encoder"]["layer_1"]["bw"]["kernel"].shape == (512 + 256, 1024)
  assert params["word_encoder"]["layer_0"]["fw"]["kernel"].shape == (1024 + 512, 2048)
  assert set(params["crf"]) == {"transitions"}
  assert model.byte_dropout == model.word_dropout == pytest.approx(0.2)
  assert model.tf_forget_bias
  assert model.num_tags == NUM_TAGS
  assert model.constrained_decoding and not model.constrained_training  # our default, paper's


def test_crf_start_end_switch():
  model = byte_crf.ByteCRF(LABELS, byte_emb_dim=8, byte_hidden=6, word_hidden=7, crf_start_end=True)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), make_batch(6, 8), train=False))
  assert {name: x.shape for name, x in shapes["params"]["crf"].items()} == {
      "transitions": (NUM_TAGS, NUM_TAGS), "start": (NUM_TAGS,), "end": (NUM_TAGS,)}


@pytest.mark.parametrize("width", [8, 16])
def test_packed_byte_encoder_equals_one_row_per_word(params, width):
  """Words packed side by side (the state restarting at each) encode exactly as one row each."""
  batch = make_batch(6, width)
  assert np.count_nonzero(batch["pack_lengths"]) < len(batch["word_byte_lengths"])  # shared rows
  def both(model, batch):
    encoded = model.byte_encoder(model.byte_embedding(batch["word_bytes"].T),
                                 batch["word_byte_lengths"], deterministic=True)
    one_row_each = jnp.concatenate(encoded.final_fw + encoded.final_bw, axis=-1)
    return model.word_vectors(batch, train=False), one_row_each
  packed, one_row_each = MODEL.apply({"params": params}, batch, method=both)
  np.testing.assert_allclose(packed, one_row_each, atol=1e-6)


def is_iob2(tags):
  """Valid IOB2, judged by the scheme's writer: `to_iob2` keeps a valid sequence as it is."""
  return tags_lib.to_iob2(tags, "IOB2") == tags


def best_paths(emissions, transitions, length):
  """Brute force, float64: the best tag sequence of a row and the best valid IOB2 one."""
  paths = np.array(list(itertools.product(range(NUM_TAGS), repeat=length)))
  emissions, transitions = np.float64(emissions[:length]), np.float64(transitions)
  scores = emissions[np.arange(length), paths].sum(1)
  scores += transitions[paths[:, :-1], paths[:, 1:]].sum(1)
  valid = np.array([is_iob2([LABELS[i] for i in path]) for path in paths])
  return paths[np.argmax(scores)], paths[valid][np.argmax(scores[valid])]


def test_decoding_is_valid_iob2_by_default_and_free_when_switched_off(params, clean):
  """Transitions tilted towards O -> I-LOC -> O make the paper's decoding invalid; the default
  decoding stays the best valid path, the switched-off one the best path, bit for bit the CRF's."""
  tilted = dict(params, crf={"transitions": params["crf"]["transitions"].at[0, 2].add(3.0)
                                                                          .at[2, 0].add(3.0)})
  outputs, free = evaluate(tilted, clean), switched(tilted, clean)
  transitions = tilted["crf"]["transitions"]
  invalid = 0
  for row, length in enumerate(clean["lengths"][:3]):
    best, best_valid = best_paths(outputs["emissions"][row], transitions, length)
    np.testing.assert_array_equal(outputs["tags"][row, :length], best_valid)
    np.testing.assert_array_equal(free["tags"][row, :length], best)
    invalid += not is_iob2([LABELS[i] for i in best])
  assert invalid >= 2
  expected = crf_lib.viterbi(outputs["emissions"], clean["lengths"], transitions)
  jax.tree.map(np.testing.assert_array_equal, (free["tags"], free["score"]), expected)


def test_training_is_unconstrained_unless_switched_on(params, clean, outputs):
  emissions, tags, lengths = outputs["emissions"], clean["tags"], clean["lengths"]
  transitions = params["crf"]["transitions"]
  np.testing.assert_array_equal(
      outputs["log_likelihood"], crf_lib.log_likelihood(emissions, tags, lengths, transitions))
  allowed = crf_lib.allowed_transitions(LABELS, "IOB2")
  assert MODEL.training_allowed is None and FREE.decoding_allowed is None
  for constraints in (MODEL.decoding_allowed, CONSTRAINED_TRAINING.training_allowed):
    jax.tree.map(np.testing.assert_array_equal, constraints, allowed)
  constrained = switched(params, clean)["log_likelihood"]
  np.testing.assert_allclose(
      constrained, crf_lib.log_likelihood(emissions, tags, lengths, transitions, allowed=allowed),
      rtol=1e-6)
  # Fewer paths share the probability: every real row's valid gold sequence gains.
  assert np.all(constrained[:3] > outputs["log_likelihood"][:3]) and constrained[3] == 0.0
