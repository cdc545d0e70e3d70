"""LSTM layers with TensorFlow's `LSTMCell` semantics, run over padded time-major batches by length.

The paper's code wraps `tf.nn.rnn_cell.LSTMCell` in `DropoutWrapper` and runs it with
`stack_bidirectional_dynamic_rnn`. This file reproduces those semantics in Flax:

* one kernel over `[x, h]` of shape `[in + n, 4n]` plus a bias, gates in the order i, j, f, o,
  Glorot-uniform kernel, zero bias, and TF's forget bias of +1.0 added at run time
  (`tf_forget_bias`), never baked into the stored bias;
* lengths, not masks: the state stops changing past a row's length, so the final state is the
  state at the length and outputs past it are zero; the backward direction starts at each row's
  own last real step, so padding never leaks in;
* dropout as `DropoutWrapper`: a fresh mask at every time step on a cell's input and on its
  output (not variational), drawn independently for each direction; the state is never dropped.

Layers read and write time-major arrays ([T, B, features], as `flax.linen.RNN(time_major=True)`),
the layout of the scans inside them, so a stack of layers never transposes its activations between
the matrix products and the loops.
The inputs of all time steps are projected with one matrix product before the recurrence (the `x`
rows of the kernel), leaving only `h @ kernel[in:]` inside the scan; the recurrence has a
hand-written gradient (`_recurrence`) checked against JAX's autodiff in the tests.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp

from polyglot_ner.models import dropout as dropout_lib

Carry = tuple[jax.Array, jax.Array]  # (c, h), each [..., features]

TF_FORGET_BIAS = 1.0


def _lstm_params(module: nn.Module, in_features: int, features: int) -> tuple[jax.Array, jax.Array]:
  """The TF `LSTMCell` parameters: kernel [in + n, 4n] over `[x, h]` and bias [4n]."""
  kernel = module.param("kernel", nn.initializers.glorot_uniform(), (in_features + features, 4 * features))
  bias = module.param("bias", nn.initializers.zeros_init(), (4 * features,))
  return kernel, bias


def gate_activations(gates: jax.Array, forget_bias: float) -> tuple[jax.Array, ...]:
  """TF `LSTMCell`'s gates i, j, f, o from pre-activations `[x, h] @ kernel + bias`."""
  i, j, f, o = jnp.split(gates, 4, axis=-1)
  return nn.sigmoid(i), jnp.tanh(j), nn.sigmoid(f + forget_bias), nn.sigmoid(o)


def lstm_update(gates: jax.Array, c: jax.Array, forget_bias: float) -> Carry:
  """TF `LSTMCell` state update from pre-activations `[x, h] @ kernel + bias` (order i, j, f, o)."""
  i, j, f, o = gate_activations(gates, forget_bias)
  c = f * c + i * j
  return c, o * jnp.tanh(c)


def reverse_within_lengths(x: jax.Array, lengths: jax.Array) -> jax.Array:
  """Each column b of x [T, B, ...] with its first `lengths[b]` steps reversed and the rest in
  place (TF's `reverse_sequence`, time-major); it is its own inverse."""
  steps = jnp.arange(x.shape[0])[:, None]
  index = jnp.where(steps < lengths[None, :], lengths[None, :] - 1 - steps, steps)
  return jnp.take_along_axis(x, index.reshape(index.shape + (1,) * (x.ndim - 2)), axis=0)


def _segment_starts(segments: jax.Array) -> jax.Array:
  """[T, B] True where a step's segment id differs from the previous step's."""
  previous = jnp.concatenate([jnp.full_like(segments[:1], -1), segments[:-1]], axis=0)
  return segments != previous


def _recurrence_forward(projected: jax.Array, recurrent_kernel: jax.Array,
                        alive: jax.Array | None, continues: jax.Array | None,
                        initial: Carry | None, forget_bias: float):
  """The loop of `_recurrence`, also returning what its backward pass needs per step."""

  def step(carry: Carry, xs: tuple[jax.Array, ...]):
    t, step_alive, step_continues = xs
    x_gates = lax.dynamic_index_in_dim(projected, t, axis=1, keepdims=False)
    c, h = carry
    if step_continues is not None:
      c, h = jnp.where(step_continues, c, 0.0), jnp.where(step_continues, h, 0.0)
    i, j, f, o = gate_activations(x_gates + jnp.einsum("kbn,kng->kbg", h, recurrent_kernel),
                                  forget_bias)
    new_c = f * c + i * j
    tanh_c = jnp.tanh(new_c)
    new_h = o * tanh_c
    saved = (c, h, i, j, f, o, tanh_c)
    if step_alive is None:
      return (new_c, new_h), (new_h, saved)
    carry = jnp.where(step_alive, new_c, c), jnp.where(step_alive, new_h, h)
    return carry, (jnp.where(step_alive, new_h, 0.0), saved)

  if initial is None:
    # Zeros derived from the inputs, so that under `shard_map` they vary along the same axes.
    zeros = jnp.zeros_like(projected[:, 0, ..., :recurrent_kernel.shape[1]])
    initial = zeros, zeros
  steps = jnp.arange(projected.shape[1])
  final, (outputs, saved) = lax.scan(step, initial, (steps, alive, continues))
  return outputs, final, saved


@functools.partial(jax.custom_vjp, nondiff_argnums=(5,))
def _recurrence(projected: jax.Array, recurrent_kernel: jax.Array, alive: jax.Array | None,
                continues: jax.Array | None, initial: Carry | None, forget_bias: float
                ) -> tuple[jax.Array, Carry]:
  """K LSTMs over projected inputs [K, T, B, 4n] (`x @ kernel[:D] + bias`, the layout of the
  matrix product; the loop reads step t in place) from `initial` (c, h) [K, B, n] (None: zeros):
  outputs [T, K, B, n] (zero where not `alive` [T, K or 1, B, 1]; None: every step is) and the
  final (c, h). The state is zeroed before steps where `continues` [T, K, B, 1] is False and held
  where not `alive`.

  The gradient is written by hand: its loop computes only each step's gate gradients and the
  state's (one matrix product), and the recurrent kernel's gradient is one product over all steps
  after it. Autodiff of the scan instead accumulates that gradient step by step and saves the
  pre-activations. With the 16-bit dropout masks (`dropout.py`) this made the byte CRF's CPU
  training step ~20% faster (README, Benchmarks). Reverse mode only (no `jax.jvp`).
  """
  outputs, final, _ = _recurrence_forward(projected, recurrent_kernel, alive, continues, initial,
                                          forget_bias)
  return outputs, final


def _recurrence_fwd(projected, recurrent_kernel, alive, continues, initial, forget_bias):
  outputs, final, saved = _recurrence_forward(projected, recurrent_kernel, alive, continues,
                                              initial, forget_bias)
  return (outputs, final), (recurrent_kernel, alive, continues, initial, saved)


def _recurrence_bwd(forget_bias, residuals, cotangents):
  del forget_bias  # inside the saved gate activations
  recurrent_kernel, alive, continues, initial, (c0, h0, i, j, f, o, tanh_c) = residuals
  d_outputs, d_final = cotangents
  kernel_t = jnp.swapaxes(recurrent_kernel, 1, 2)

  def step(carry: tuple[jax.Array, ...], xs: tuple[jax.Array, ...]):
    d_c, d_h, d_projected = carry  # d_c, d_h: with respect to the state after this step
    t, d_out, step_alive, step_continues, c, i, j, f, o, tanh_c = xs
    if step_alive is None:
      d_new_h, d_new_c = d_h + d_out, d_c
    else:
      d_new_h, d_new_c = jnp.where(step_alive, d_h + d_out, 0.0), jnp.where(step_alive, d_c, 0.0)
    d_new_c = d_new_c + d_new_h * o * (1.0 - tanh_c * tanh_c)
    d_gates = jnp.concatenate([d_new_c * j * i * (1.0 - i), d_new_c * i * (1.0 - j * j),
                               d_new_c * c * f * (1.0 - f), d_new_h * tanh_c * o * (1.0 - o)],
                              axis=-1)
    d_c_before = d_new_c * f
    d_h_before = jnp.einsum("kbg,kgn->kbn", d_gates, kernel_t)
    if step_alive is not None:  # a held step passes the state's gradient through
      d_c_before += jnp.where(step_alive, 0.0, d_c)
      d_h_before += jnp.where(step_alive, 0.0, d_h)
    d_c, d_h = d_c_before, d_h_before
    if step_continues is not None:
      d_c, d_h = jnp.where(step_continues, d_c, 0.0), jnp.where(step_continues, d_h, 0.0)
    d_projected = lax.dynamic_update_index_in_dim(d_projected, d_gates, t, axis=1)
    return (d_c, d_h, d_projected), None

  steps, num_lstms, batch, features = i.shape
  # The gradient of `projected` is written step by step in its own layout [K, T, B, 4n].
  d_projected = jnp.zeros((num_lstms, steps, batch, 4 * features), d_outputs.dtype)
  (d_c0, d_h0, d_projected), _ = lax.scan(
      step, (*d_final, d_projected),
      (jnp.arange(steps), d_outputs, alive, continues, c0, i, j, f, o, tanh_c), reverse=True)
  d_kernel = jnp.einsum("tkbn,ktbg->kng", h0, d_projected)
  return d_projected, d_kernel, None, None, None if initial is None else (d_c0, d_h0)


_recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)


def _scan(projected: jax.Array, lengths: jax.Array, resets: jax.Array | None,
          recurrent_kernel: jax.Array, forget_bias: float) -> tuple[jax.Array, Carry]:
  """K independent LSTMs run forward in one scan: projected inputs [K, T, B, 4n] (`x @
  kernel[:D] + bias` of inputs already dropped out), recurrent kernels [K, n, 4n], resets
  [K, T, B] (zero the state before that step) or None. Returns outputs [T, K, B, n] (zero past
  each length) and the state at each length.

  Running the directions of a BiLSTM as K = 2 halves the sequential steps.
  """
  alive = (jnp.arange(projected.shape[1])[:, None] < lengths[None, :])[:, None, :, None]
  continues = None if resets is None else ~jnp.swapaxes(resets, 0, 1)[..., None]
  return _recurrence(projected, recurrent_kernel, alive, continues, None, forget_bias)


def recurrence(projected: jax.Array, recurrent_kernel: jax.Array, lengths: jax.Array | None,
               initial: Carry | None, forget_bias: float) -> tuple[jax.Array, Carry]:
  """One LSTM over time-major projected inputs [T, B, 4n] (`x @ kernel[:D] + bias`, computed by
  the caller, e.g. once per embedding row) with the hand-written gradient, from `initial` (c, h)
  [B, n] (None: zeros): outputs [T, B, n] and the final (c, h). With `lengths` [B] the state is
  held past each row's length and the outputs there are zero; None: every step is real."""
  alive = None
  if lengths is not None:
    alive = (jnp.arange(projected.shape[0])[:, None] < lengths[None, :])[:, None, :, None]
  if initial is not None:
    initial = tuple(state[None] for state in initial)
  outputs, (c, h) = _recurrence(projected[None], recurrent_kernel[None], alive, None, initial,
                                forget_bias)
  return outputs[:, 0], (c[0], h[0])


class _Params(nn.Module):
  """One direction's TF `LSTMCell` parameters (`kernel`, `bias`) under the module's name."""

  features: int

  @nn.compact
  def __call__(self, in_features: int) -> tuple[jax.Array, jax.Array]:
    return _lstm_params(self, in_features, self.features)


class BiLSTM(nn.Module):
  """One bidirectional layer over inputs [T, B, D]: returns fw ‖ bw outputs [T, B, 2n] and the fw
  and bw final states.

  Both directions run in one scan (the backward one over each row reversed within its length).
  Each direction drops its own input and output (DropoutWrapper on each cell). `segments` [T, B]
  (optional) splits rows into independent sequences: the state restarts wherever the segment id
  changes, in either direction, so words packed side by side in one row never see each other;
  the final states are then those of each row's last (fw) and first (bw) segment.

  The inputs of all steps are projected with one matrix product, leaving only `h @ kernel[D:]`
  in the loop. With `ids` [T, B], `inputs` is a table [U, D] and step t of row b reads its row
  `ids[t, b]` (a byte's embedding, a distinct word's vector); `deterministic`, the table is
  projected once and the steps gather their rows of the product, so the product costs the
  table's rows rather than the steps (the same numbers: nothing is dropped).
  """

  features: int
  tf_forget_bias: bool = True
  input_dropout: float = 0.0
  output_dropout: float = 0.0

  @nn.compact
  def __call__(self, inputs: jax.Array, lengths: jax.Array, *, deterministic: bool,
               segments: jax.Array | None = None, ids: jax.Array | None = None
               ) -> tuple[jax.Array, Carry, Carry]:
    in_features = inputs.shape[-1]
    (fw_kernel, fw_bias), (bw_kernel, bw_bias) = (
        _Params(self.features, name=name)(in_features) for name in ("fw", "bw"))
    kernel, bias = jnp.stack([fw_kernel, bw_kernel]), jnp.stack([fw_bias, bw_bias])
    if ids is not None and deterministic:
      # One product for both directions, [U, 2 * 4n] row-major, read as [2U, 4n] (row 2u + k:
      # direction k of table row u): XLA's CPU gather copies its rows fastest so.
      table = inputs @ jnp.concatenate([fw_kernel[:in_features], bw_kernel[:in_features]], 1)
      table = (table + jnp.concatenate([fw_bias, bw_bias])).reshape(-1, 4 * self.features)
      order = jnp.stack([ids, reverse_within_lengths(ids, lengths)])
      projected = jnp.take(table, 2 * order + jnp.arange(2)[:, None, None], axis=0, mode="clip")
    else:
      if ids is not None:
        inputs = jnp.take(inputs, ids, axis=0)
      both = jnp.stack([inputs, reverse_within_lengths(inputs, lengths)])
      both = dropout_lib.Dropout(self.input_dropout, name="input_dropout")(
          both, deterministic=deterministic)
      projected = (jnp.einsum("ktbd,kdg->ktbg", both, kernel[:, :in_features]) +
                   bias[:, None, None])
    resets = None
    if segments is not None:
      resets = jnp.stack([_segment_starts(segments),
                          _segment_starts(reverse_within_lengths(segments, lengths))])
    outputs, (c, h) = _scan(projected, lengths, resets, kernel[:, in_features:],
                            TF_FORGET_BIAS if self.tf_forget_bias else 0.0)
    outputs = dropout_lib.Dropout(self.output_dropout, name="output_dropout")(
        outputs, deterministic=deterministic)
    outputs = jnp.concatenate([outputs[:, 0], reverse_within_lengths(outputs[:, 1], lengths)],
                              axis=-1)
    return outputs, (c[0], h[0]), (c[1], h[1])


class StackedBiLSTMOutput(NamedTuple):
  """Per-layer outputs [T, B, 2n] (fw ‖ bw) and the final h [B, n] of every layer, per direction."""

  outputs: tuple[jax.Array, ...]
  final_fw: tuple[jax.Array, ...]
  final_bw: tuple[jax.Array, ...]


class StackedBiLSTM(nn.Module):
  """TF's `stack_bidirectional_dynamic_rnn`: layer k+1 reads the fw ‖ bw outputs of layer k.

  Parameters live under `layer_{k}/fw` and `layer_{k}/bw`. `ids`: the first layer's, as
  `BiLSTM`'s (its inputs a table).
  """

  features: int
  num_layers: int = 1
  tf_forget_bias: bool = True
  input_dropout: float = 0.0
  output_dropout: float = 0.0

  @nn.compact
  def __call__(self, inputs: jax.Array, lengths: jax.Array, *, deterministic: bool,
               segments: jax.Array | None = None, ids: jax.Array | None = None
               ) -> StackedBiLSTMOutput:
    outputs, final_fw, final_bw = [], [], []
    for layer in range(self.num_layers):
      inputs, (_, fw_h), (_, bw_h) = BiLSTM(
          self.features, tf_forget_bias=self.tf_forget_bias, input_dropout=self.input_dropout,
          output_dropout=self.output_dropout, name=f"layer_{layer}")(
              inputs, lengths, deterministic=deterministic, segments=segments,
              ids=ids if layer == 0 else None)
      outputs.append(inputs)
      final_fw.append(fw_h)
      final_bw.append(bw_h)
    return StackedBiLSTMOutput(tuple(outputs), tuple(final_fw), tuple(final_bw))
