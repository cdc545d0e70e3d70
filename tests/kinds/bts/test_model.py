"""Byte-to-Span's module: greedy decoding keeps its grammar and its cap (random parameters, many
windows), greedy and teacher-forced decoding agree, the loss ignores padding, and dropout and
byte dropout act in training only."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner.kinds.bts import model as bts
from polyglot_ner.kinds.bts import windows

TYPES = ("LOC", "MISC", "ORG", "PER")
WINDOW = 24


def _module(**fields):
  sizes = dict(window=WINDOW, byte_emb_dim=8, num_layers=2, hidden=16, output_emb_dim=8)
  return bts.ByteToSpan(TYPES, **{**sizes, **fields})


def _batch(rng, rows=64, targets=None):
  lengths = rng.integers(0, WINDOW + 1, rows)
  lengths[:3] = (0, 1, WINDOW)[:rows]
  data = np.where(np.arange(WINDOW) < lengths[:, None], rng.integers(0, 256, (rows, WINDOW)), 0)
  if targets is None:
    targets = np.zeros((rows, 1), np.int64)
  return {"bytes": data.astype(np.int32), "lengths": lengths.astype(np.int32),
          "lang": np.zeros(rows, np.int32), "targets": np.asarray(targets, np.int32),
          "target_lengths": np.where(lengths > 0, 1, 0).astype(np.int32)}


def _params(module, seed=0):
  return module.init({"params": jax.random.PRNGKey(seed)}, _batch(np.random.default_rng(0), 2),
                     train=False)["params"]


def test_parameters_follow_the_original():
  module = _module()
  params = _params(module)
  vocabulary_size = 2 + len(TYPES) + 2 * WINDOW
  shapes = jax.tree.map(jnp.shape, params)
  assert shapes["byte_embedding"] == (257, 8)
  assert shapes["encoder"]["layer_0"] == {"kernel": (8 + 16, 64), "bias": (64,)}
  assert shapes["decoder"]["layer_1"] == {"kernel": (16 + 16, 64), "bias": (64,)}
  assert shapes["output_embedding"] == (vocabulary_size, 8)
  assert shapes["projection"] == (16, vocabulary_size)
  kernels = np.concatenate([np.ravel(params[stack][layer]["kernel"]) for stack in
                            ("encoder", "decoder") for layer in ("layer_0", "layer_1")])
  assert -0.08 <= kernels.min() < -0.07 and 0.07 < kernels.max() <= 0.08
  assert all(not np.any(params[s][l]["bias"]) for s in ("encoder", "decoder")
             for l in ("layer_0", "layer_1"))


def test_emb_std_draws_normal_embeddings():
  """Both embeddings are Glorot-uniform by default; `emb_std` > 0: N(0, emb_std), the rest as
  before."""
  glorot, normal = _params(_module()), _params(_module(emb_std=1.0))
  vocabulary_size = 2 + len(TYPES) + 2 * WINDOW
  assert np.abs(glorot["byte_embedding"]).max() <= np.sqrt(6 / (257 + 8))
  assert np.abs(glorot["output_embedding"]).max() <= np.sqrt(6 / (vocabulary_size + 8))
  for name in ("byte_embedding", "output_embedding"):
    assert 0.85 < np.asarray(normal[name]).std() < 1.15
  np.testing.assert_array_equal(glorot["projection"], normal["projection"])


@pytest.mark.parametrize("constrained, max_spans", [(True, 2), (False, 3), (True, 30)])
def test_decoding_keeps_the_grammar_and_the_cap(constrained, max_spans):
  module = _module(max_spans=max_spans, constrained_decoding=constrained)
  vocabulary = windows.Vocabulary(TYPES, WINDOW)
  rng = np.random.default_rng(max_spans)
  decode = jax.jit(lambda p, b: module.apply({"params": p}, b, method="decode").tokens)
  counts = []
  for seed in range(3):
    batch = _batch(rng)
    tokens = np.asarray(decode(_params(module, seed), batch))
    assert tokens.shape == (64, 3 * max_spans + 1)
    count, start, length, _ = vocabulary.spans(tokens)  # raises unless S, L, type ... STOP
    counts.append(count)
    if constrained:
      for row in range(64):
        n = count[row]
        ends = start[row, :n] + length[row, :n]
        assert np.all(ends <= batch["lengths"][row])  # inside the window's bytes
        assert np.all(ends[1:] <= start[row, :n][:-1])  # descending and disjoint
  counts = np.concatenate(counts)
  assert counts.max() <= max_spans
  if max_spans < 4:
    assert counts.max() == max_spans  # the cap is reached, and then STOP follows


def test_an_empty_window_decodes_to_stop():
  module = _module()
  batch = _batch(np.random.default_rng(1), rows=4)
  batch["lengths"][:] = 0
  tokens = module.apply({"params": _params(module)}, batch, method="decode").tokens
  assert not np.any(tokens)


def test_greedy_log_probability_is_the_teacher_forced_loss_of_its_tokens():
  module = _module(max_spans=4, constrained_decoding=False)
  params = _params(module, 3)
  batch = _batch(np.random.default_rng(2), rows=16)
  decoded = module.apply({"params": params}, batch, method="decode")
  count = windows.Vocabulary(TYPES, WINDOW).spans(np.asarray(decoded.tokens))[0]
  teacher = dict(batch, targets=decoded.tokens,
                 target_lengths=np.where(batch["lengths"] > 0, 3 * count + 1, 0).astype(np.int32))
  loss = module.apply({"params": params}, teacher, train=False)
  real = batch["lengths"] > 0
  np.testing.assert_allclose(np.asarray(loss)[real], -np.asarray(decoded.log_prob)[real],
                             rtol=1e-4)


def test_the_loss_ignores_padding_bytes_tokens_and_rows():
  module = _module()
  params = _params(module)
  rng = np.random.default_rng(4)
  batch = _batch(rng, rows=8, targets=rng.integers(0, 30, (8, 7)))
  batch["target_lengths"] = np.array([0, 1, 4, 7, 7, 4, 1, 7], np.int32)
  loss = np.asarray(module.apply({"params": params}, batch, train=False))
  assert loss[0] == 0 and np.all(loss[batch["lengths"] > 0] > 0)
  noisy = dict(batch)
  past_length = np.arange(WINDOW) >= batch["lengths"][:, None]
  noisy["bytes"] = np.where(past_length, 77, batch["bytes"]).astype(np.int32)
  noisy["targets"] = np.where(np.arange(7) >= batch["target_lengths"][:, None], 5,
                              batch["targets"]).astype(np.int32)
  noisy["lengths"] = np.where(np.arange(8) == 0, 0, batch["lengths"]).astype(np.int32)
  np.testing.assert_allclose(module.apply({"params": params}, noisy, train=False), loss, rtol=1e-6)


def test_dropout_acts_in_training_only_and_byte_dropout_hides_the_bytes():
  module = _module(byte_dropout=1.0, dropout=0.0)
  params = _params(module)
  rng = np.random.default_rng(5)
  batch, other = _batch(rng, rows=8), _batch(rng, rows=8)
  other["lengths"] = batch["lengths"]

  def loss(b, train, seed=0):
    return np.asarray(module.apply({"params": params}, b, train=train,
                                   rngs={"dropout": jax.random.PRNGKey(seed)}))

  np.testing.assert_allclose(loss(batch, True), loss(other, True), rtol=1e-6)  # all bytes 256
  assert not np.allclose(loss(batch, False), loss(other, False))
  dropping = _module(byte_dropout=0.3, dropout=0.2)
  params = _params(dropping)

  def dropped(seed):
    return np.asarray(dropping.apply({"params": params}, batch, train=True,
                                     rngs={"dropout": jax.random.PRNGKey(seed)}))

  assert not np.allclose(dropped(0), dropped(1))
  np.testing.assert_allclose(dropping.apply({"params": params}, batch, train=False),
                             dropping.apply({"params": params}, batch, train=False))
