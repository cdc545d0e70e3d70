"""LSTM layers against a hand-written NumPy copy of TF's LSTMCell, and length handling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner.models import lstm

IN, HIDDEN = 3, 4


def numpy_tf_lstm(kernel, bias, xs, forget_bias=1.0):
  """TF 1.x `LSTMCell` (no peepholes, no clipping) over xs [T, B, D] from the zero state."""
  kernel, bias = np.asarray(kernel, np.float64), np.asarray(bias, np.float64)
  sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))
  n = kernel.shape[1] // 4
  c = np.zeros((xs.shape[1], n))
  h = np.zeros((xs.shape[1], n))
  outputs = []
  for x in xs:
    z = np.concatenate([x, h], axis=1) @ kernel + bias
    i, j, f, o = z[:, :n], z[:, n:2 * n], z[:, 2 * n:3 * n], z[:, 3 * n:]
    c = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
    h = sigmoid(o) * np.tanh(c)
    outputs.append(h)
  return np.stack(outputs), (c, h)


def random_params(seed, in_features=IN, features=HIDDEN):
  rng = np.random.default_rng(seed)
  return {"kernel": rng.normal(size=(in_features + features, 4 * features)).astype(np.float32),
          "bias": rng.normal(size=(4 * features,)).astype(np.float32)}



@pytest.mark.parametrize("tf_forget_bias", [True, False])
def test_bilstm_matches_numpy_per_row_length(tf_forget_bias):
  """Each direction is TF's LSTMCell over the row's real steps (backward: reversed within the
  length); padding gives zero outputs and rows of length 0 the zero state."""
  params = {"fw": random_params(2), "bw": random_params(3)}
  lengths = np.array([5, 3, 0, 1])
  xs = np.random.default_rng(4).normal(size=(4, 5, IN)).astype(np.float32)
  outputs, fw_final, bw_final = lstm.BiLSTM(HIDDEN, tf_forget_bias=tf_forget_bias).apply(
      {"params": params}, xs.swapaxes(0, 1), jnp.asarray(lengths), deterministic=True)
  outputs = np.swapaxes(outputs, 0, 1)  # the layer is time-major; rows first to compare
  forget_bias = 1.0 if tf_forget_bias else 0.0
  for row, length in enumerate(lengths):
    for direction, final, half in (("fw", fw_final, slice(0, HIDDEN)),
                                   ("bw", bw_final, slice(HIDDEN, None))):
      real = xs[row, :length] if direction == "fw" else xs[row, :length][::-1]
      if length:
        expected, (c, h) = numpy_tf_lstm(params[direction]["kernel"], params[direction]["bias"],
                                         real[:, None, :], forget_bias)
        expected = expected[:, 0] if direction == "fw" else expected[::-1, 0]
        np.testing.assert_allclose(outputs[row, :length, half], expected, atol=1e-5)
        np.testing.assert_allclose(final[0][row], c[0], atol=1e-5)
        np.testing.assert_allclose(final[1][row], h[0], atol=1e-5)
      else:
        assert not np.any(final[0][row]) and not np.any(final[1][row])
    assert not np.any(outputs[row, length:])


def test_forget_bias_changes_the_result():
  params = random_params(0)
  xs = np.random.default_rng(1).normal(size=(5, 2, IN))
  with_bias, _ = numpy_tf_lstm(params["kernel"], params["bias"], xs, 1.0)
  without, _ = numpy_tf_lstm(params["kernel"], params["bias"], xs, 0.0)
  assert np.abs(with_bias - without).max() > 1e-2
  assert lstm.BiLSTM(HIDDEN).tf_forget_bias  # paper fidelity is the default


def test_init_is_tf_layout_glorot_and_zero_bias():
  params = lstm.BiLSTM(HIDDEN).init(jax.random.key(0), jnp.ones((5, 2, IN)), jnp.array([5, 3]),
                                    deterministic=True)["params"]
  for direction in ("fw", "bw"):
    kernel, bias = params[direction]["kernel"], params[direction]["bias"]
    assert kernel.shape == (IN + HIDDEN, 4 * HIDDEN) and bias.shape == (4 * HIDDEN,)
    assert not np.any(bias)
    limit = np.sqrt(6.0 / (IN + HIDDEN + 4 * HIDDEN))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.8 * limit  # uniform over the whole Glorot range


def test_stacked_bilstm_ignores_padding():
  """A padded batch with garbage past each length gives exactly the unpadded rows' results."""
  model = lstm.StackedBiLSTM(HIDDEN, num_layers=2)
  rng = np.random.default_rng(4)
  rows = [rng.normal(size=(length, IN)).astype(np.float32) for length in (4, 2, 1)]
  padded = rng.normal(scale=100.0, size=(3, 6, IN)).astype(np.float32)  # garbage everywhere
  for row, x in enumerate(rows):
    padded[row, :len(x)] = x
  lengths = jnp.array([len(x) for x in rows])
  padded = padded.swapaxes(0, 1)  # time-major
  params = model.init(jax.random.key(0), padded, lengths, deterministic=True)["params"]
  assert set(params) == {"layer_0", "layer_1"}
  assert set(params["layer_1"]) == {"fw", "bw"}
  assert params["layer_1"]["fw"]["kernel"].shape == (2 * HIDDEN + HIDDEN, 4 * HIDDEN)
  apply = jax.jit(lambda x, lengths: model.apply({"params": params}, x, lengths, deterministic=True))
  batched = apply(padded, lengths)
  for row, x in enumerate(rows):
    alone = apply(x[:, None], jnp.array([len(x)]))
    for layer in range(2):
      np.testing.assert_allclose(batched.outputs[layer][:len(x), row], alone.outputs[layer][:, 0],
                                 atol=1e-6)
      assert not np.any(batched.outputs[layer][len(x):, row])
      np.testing.assert_allclose(batched.final_fw[layer][row], alone.final_fw[layer][0], atol=1e-6)
      np.testing.assert_allclose(batched.final_bw[layer][row], alone.final_bw[layer][0], atol=1e-6)


def test_bilstm_final_states_are_fw_last_and_bw_first_outputs():
  model = lstm.StackedBiLSTM(HIDDEN, num_layers=1)
  x = jnp.asarray(np.random.default_rng(5).normal(size=(5, 2, IN)), jnp.float32)
  lengths = jnp.array([3, 5])
  out = model.apply(model.init(jax.random.key(0), x, lengths, deterministic=True), x, lengths,
                    deterministic=True)
  np.testing.assert_allclose(out.final_fw[0], out.outputs[0][lengths - 1, jnp.arange(2), :HIDDEN])
  np.testing.assert_allclose(out.final_bw[0], out.outputs[0][0, :, HIDDEN:])


def test_dropout_is_per_step_and_leaves_the_state_alone():
  x = jnp.asarray(np.random.default_rng(6).normal(size=(6, 8, IN)), jnp.float32)
  lengths = jnp.full((8,), 6)
  dropped = lstm.BiLSTM(HIDDEN, output_dropout=0.5)
  params = dropped.init(jax.random.key(0), x, lengths, deterministic=True)
  clean_out, clean_fw, _ = lstm.BiLSTM(HIDDEN).apply(params, x, lengths, deterministic=True)
  eval_out, _, _ = dropped.apply(params, x, lengths, deterministic=True)
  np.testing.assert_array_equal(eval_out, clean_out)
  out, fw, _ = dropped.apply(params, x, lengths, deterministic=False,
                             rngs={"dropout": jax.random.key(1)})
  np.testing.assert_allclose(fw[1], clean_fw[1], atol=1e-6)  # state is never dropped
  kept = np.asarray(out) != 0
  np.testing.assert_allclose(np.asarray(out)[kept], 2.0 * np.asarray(clean_out)[kept], rtol=1e-5)
  assert 0.3 < kept.mean() < 0.7
  assert np.any(kept[0] != kept[1])  # a fresh mask at every step (not variational)
  other, _, _ = dropped.apply(params, x, lengths, deterministic=False,
                              rngs={"dropout": jax.random.key(2)})
  assert np.any(np.asarray(other) != np.asarray(out))


def test_segments_restart_the_state_in_both_directions():
  """Segments packed side by side in one row give exactly the outputs of each read alone."""
  model = lstm.BiLSTM(HIDDEN)
  rng = np.random.default_rng(7)
  pieces = [rng.normal(size=(length, IN)).astype(np.float32) for length in (3, 1, 2)]
  row = np.concatenate(pieces + [rng.normal(scale=100.0, size=(2, IN))])[:, None]  # 2 padding steps
  segments = jnp.asarray([[1, 1, 1, 2, 3, 3, 0, 0]]).T
  params = model.init(jax.random.key(0), row, jnp.array([6]), deterministic=True)
  packed, _, _ = model.apply(params, row, jnp.array([6]), deterministic=True, segments=segments)
  start = 0
  for piece in pieces:
    alone, _, _ = model.apply(params, piece[:, None], jnp.array([len(piece)]), deterministic=True)
    np.testing.assert_allclose(packed[start:start + len(piece), 0], alone[:, 0], atol=1e-6)
    start += len(piece)
  assert not np.any(packed[6:, 0])


def test_inputs_from_a_table_by_ids_are_the_gathered_inputs():
  """`ids` read a table's rows: the same outputs and states as the gathered inputs, projected
  once per table row when deterministic (float error only), gathered first under dropout (the same
  masks, bit for bit)."""
  rng = np.random.default_rng(8)
  table = jnp.asarray(rng.normal(size=(5, IN)), jnp.float32)
  ids = jnp.asarray(rng.integers(0, 5, size=(6, 3)))
  lengths = jnp.array([6, 2, 0])
  model = lstm.StackedBiLSTM(HIDDEN, num_layers=2, input_dropout=0.3)
  params = model.init(jax.random.key(0), table[ids], lengths, deterministic=True)
  for deterministic, rngs in ((True, {}), (False, {"dropout": jax.random.key(1)})):
    by_ids = model.apply(params, table, lengths, ids=ids, deterministic=deterministic, rngs=rngs)
    gathered = model.apply(params, table[ids], lengths, deterministic=deterministic, rngs=rngs)
    for a, b in zip(jax.tree.leaves(by_ids), jax.tree.leaves(gathered)):
      if deterministic:
        np.testing.assert_allclose(a, b, atol=1e-6)
      else:
        np.testing.assert_array_equal(a, b)


def _autodiff_recurrence(projected, recurrent_kernel, alive, continues, initial, forget_bias):
  """`lstm._recurrence` as a plain scan, differentiated by JAX."""
  def step(carry, xs):
    x_gates, step_alive, step_continues = xs
    c, h = carry
    if step_continues is not None:
      c, h = (jnp.where(step_continues, value, 0.0) for value in (c, h))
    new_c, new_h = lstm.lstm_update(x_gates + jnp.einsum("kbn,kng->kbg", h, recurrent_kernel), c,
                                    forget_bias)
    if step_alive is None:
      return (new_c, new_h), new_h
    return ((jnp.where(step_alive, new_c, c), jnp.where(step_alive, new_h, h)),
            jnp.where(step_alive, new_h, 0.0))
  zeros = jnp.zeros(projected.shape[:1] + projected.shape[2:-1] + (recurrent_kernel.shape[1],))
  final, outputs = jax.lax.scan(step, (zeros, zeros) if initial is None else initial,
                                (jnp.swapaxes(projected, 0, 1), alive, continues))
  return outputs, final


@pytest.mark.parametrize("forget_bias, held_and_reset", [(0.0, True), (1.0, True), (1.0, False)])
def test_hand_written_gradient_equals_autodiff(forget_bias, held_and_reset):
  """Gradients of the inputs and the recurrent kernel, through outputs and final states, match
  JAX's autodiff of the same recurrence: from the zero state with held (past-length) steps and
  state resets, or from a given initial state (whose gradient is checked too) with every step
  real, as Byte-to-Span's decoder runs."""
  rng = np.random.default_rng(8)
  steps, k, b, n = 7, 2, 5, HIDDEN
  projected = jnp.asarray(rng.normal(size=(k, steps, b, 4 * n)), jnp.float32)
  kernel = jnp.asarray(rng.normal(scale=0.5, size=(k, n, 4 * n)), jnp.float32)
  initial = tuple(jnp.asarray(rng.normal(size=(k, b, n)), jnp.float32) for _ in range(2))
  alive = jnp.asarray(rng.random((steps, k, b, 1)) < 0.8) if held_and_reset else None
  continues = jnp.asarray(rng.random((steps, k, b, 1)) < 0.7) if held_and_reset else None
  weights = jnp.asarray(rng.normal(size=(steps, k, b, n)), jnp.float32)

  def loss(recurrence):
    def f(projected, kernel, initial):
      outputs, (c, h) = recurrence(projected, kernel, alive, continues,
                                   None if held_and_reset else initial, forget_bias)
      return jnp.sum(weights * outputs) + jnp.sum(jnp.sin(c)) + jnp.sum(h**3)
    return jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))

  (value, grads), (expected_value, expected) = (
      loss(r)(projected, kernel, initial) for r in (lstm._recurrence, _autodiff_recurrence))
  np.testing.assert_allclose(value, expected_value, rtol=1e-6)
  for grad, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
    np.testing.assert_allclose(grad, want, rtol=1e-5, atol=1e-5)
  assert np.abs(np.asarray(expected[1])).max() > 0.1  # the comparison is not vacuous
  if not held_and_reset:
    assert min(np.abs(np.asarray(g)).max() for g in expected[2]) > 0.1
