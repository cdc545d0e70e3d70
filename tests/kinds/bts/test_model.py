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


def test_a_zero_position_table_leaves_the_plain_encoder():
  """`position_inputs` adds one table row per offset to each byte's input: zero rows change
  nothing, learned ones change the state (the stepwise test below checks the sum exactly)."""
  positions = _module(position_inputs=True)
  params = _params(positions, 3)
  assert params["position_embedding"].shape == (WINDOW, 8)
  batch = _batch(np.random.default_rng(8), rows=16)

  def encode(module, p):
    return jax.tree.leaves(module.apply({"params": p}, batch, train=False, method="encode"))

  table = params["position_embedding"]
  plain = encode(_module(), {k: v for k, v in params.items() if k != "position_embedding"})
  for got, want, moved in zip(
      encode(positions, dict(params, position_embedding=jnp.zeros_like(table))), plain,
      encode(positions, params)):
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert not np.allclose(moved, want)


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


@pytest.mark.parametrize("position_inputs", [False, True])
def test_greedy_log_probability_is_the_teacher_forced_loss_of_its_tokens(position_inputs):
  module = _module(max_spans=4, constrained_decoding=False, position_inputs=position_inputs)
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


def _stepwise_loss(module, params, batch, rng):
  """The loss as `_step` computes it one time step at a time (the decoding path), with the
  module's own dropout draws: a reference for the whole-sequence layers that training runs."""
  bound = module.bind({"params": params}, rngs={"dropout": rng})
  forget_bias = bound._forget_bias

  def run(cells, state, inputs, masks, alive):
    def step(state, xs):
      x, step_masks, step_alive = xs
      new_state, top = bts._step(cells, state, x, step_masks, forget_bias)
      return jax.tree.map(lambda new, old: jnp.where(step_alive, new, old), new_state, state), top
    return jax.lax.scan(step, state, (inputs, masks, alive))

  ids = batch["bytes"]
  dropped = jax.random.bernoulli(bound.make_rng("dropout"), module.byte_dropout, ids.shape)
  inputs = params["byte_embedding"][jnp.where(dropped, bts.DROPPED_BYTE, ids)]
  if module.position_inputs:
    inputs += params["position_embedding"]
  inputs = jnp.swapaxes(inputs, 0, 1)
  masks = bound._masks(*inputs.shape[:2], module.byte_emb_dim, True)
  zeros = jnp.zeros((ids.shape[0], module.hidden))
  alive = jnp.arange(ids.shape[1])[:, None, None] < batch["lengths"][None, :, None]
  state, _ = run(bound.encoder.cells(), ((zeros, zeros),) * module.num_layers, inputs, masks,
                 alive)
  targets = batch["targets"]
  teacher = jnp.concatenate([jnp.full_like(targets[:, :1], 1), targets[:, :-1]], axis=1)
  inputs = jnp.swapaxes(params["output_embedding"][teacher], 0, 1)
  masks = bound._masks(*inputs.shape[:2], module.output_emb_dim, True)
  _, outputs = run(bound.decoder.cells(), state, inputs, masks,
                   jnp.ones(inputs.shape[:2] + (1,), bool))
  log_probs = jax.nn.log_softmax(jnp.swapaxes(outputs, 0, 1) @ params["projection"], axis=-1)
  gold = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
  real = jnp.arange(targets.shape[1]) < batch["target_lengths"][:, None]
  return -jnp.sum(jnp.where(real, gold, 0.0), axis=1)


@pytest.mark.parametrize("dropout, position_inputs", [(0.0, False), (0.2, False), (0.2, True)])
def test_training_layers_match_the_stepwise_cell_with_its_gradient(dropout, position_inputs):
  """Training runs each layer over the whole window (the table-projected bottom layer, the
  hand-written LSTM gradient); the loss and every gradient equal the step-by-step cell's, whose
  inputs are the byte embeddings (plus the position embeddings) and the token embeddings, dropped
  out."""
  module = _module(byte_dropout=dropout, dropout=dropout, position_inputs=position_inputs)
  params = _params(module, 5)
  rng = np.random.default_rng(6)
  batch = _batch(rng, rows=8, targets=rng.integers(0, 30, (8, 7)))
  batch["target_lengths"] = np.array([0, 1, 4, 7, 7, 4, 1, 7], np.int32)
  key = jax.random.PRNGKey(9)

  def value_and_grad(loss):
    return jax.jit(jax.value_and_grad(lambda p: jnp.sum(jnp.sin(loss(p)))))(params)

  (value, grads), (expected_value, expected) = (
      value_and_grad(lambda p: module.apply({"params": p}, batch, train=True,
                                            rngs={"dropout": key})),
      value_and_grad(lambda p: _stepwise_loss(module, p, batch, key)))
  np.testing.assert_allclose(value, expected_value, rtol=1e-5)
  assert jax.tree.structure(grads) == jax.tree.structure(expected)
  for grad, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
    np.testing.assert_allclose(grad, want, rtol=1e-4, atol=1e-6)
