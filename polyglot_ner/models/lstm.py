"""LSTM layers with TensorFlow's `LSTMCell` semantics, run over padded batches by length.

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

`LSTM` projects the inputs of all time steps with one matrix product before the recurrence
(the `x` rows of the kernel), leaving only `h @ kernel[in:]` inside the scan.
"""

from __future__ import annotations

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

Carry = tuple[jax.Array, jax.Array]  # (c, h), each [..., features]

TF_FORGET_BIAS = 1.0


def _lstm_params(module: nn.Module, in_features: int, features: int) -> tuple[jax.Array, jax.Array]:
  """The TF `LSTMCell` parameters: kernel [in + n, 4n] over `[x, h]` and bias [4n]."""
  kernel = module.param("kernel", nn.initializers.glorot_uniform(), (in_features + features, 4 * features))
  bias = module.param("bias", nn.initializers.zeros_init(), (4 * features,))
  return kernel, bias


def lstm_update(gates: jax.Array, c: jax.Array, forget_bias: float) -> Carry:
  """TF `LSTMCell` state update from pre-activations `[x, h] @ kernel + bias` (order i, j, f, o)."""
  i, j, f, o = jnp.split(gates, 4, axis=-1)
  c = nn.sigmoid(f + forget_bias) * c + nn.sigmoid(i) * jnp.tanh(j)
  return c, nn.sigmoid(o) * jnp.tanh(c)


def zero_carry(batch_shape: tuple[int, ...], features: int, dtype=jnp.float32) -> Carry:
  """The all-zero initial state TF uses."""
  zeros = jnp.zeros((*batch_shape, features), dtype)
  return zeros, zeros


class LSTMCell(nn.Module):
  """One step of TF's `LSTMCell` (for step-by-step decoders); same parameters as `LSTM`."""

  features: int
  tf_forget_bias: bool = True

  @nn.compact
  def __call__(self, carry: Carry, x: jax.Array) -> tuple[Carry, jax.Array]:
    kernel, bias = _lstm_params(self, x.shape[-1], self.features)
    c, h = carry
    gates = jnp.concatenate([x, h], axis=-1) @ kernel + bias
    c, h = lstm_update(gates, c, TF_FORGET_BIAS if self.tf_forget_bias else 0.0)
    return (c, h), h


class LSTM(nn.Module):
  """One direction over inputs [B, T, D] with lengths [B]: outputs [B, T, n], final state at length.

  `reverse=True` reads each row from its last real step back to its first (TF's
  `reverse_sequence` within the length); outputs stay aligned with the inputs. Rows of length 0
  give zero outputs and the zero state. Dropout rates apply to the input and output of every step.
  """

  features: int
  reverse: bool = False
  tf_forget_bias: bool = True
  input_dropout: float = 0.0
  output_dropout: float = 0.0

  @nn.compact
  def __call__(self, inputs: jax.Array, lengths: jax.Array, *,
               deterministic: bool) -> tuple[jax.Array, Carry]:
    _, time, in_features = inputs.shape
    kernel, bias = _lstm_params(self, in_features, self.features)
    forget_bias = TF_FORGET_BIAS if self.tf_forget_bias else 0.0
    inputs = nn.Dropout(self.input_dropout, name="input_dropout")(inputs, deterministic=deterministic)
    # Time-major input projections for all steps at once; only h @ kernel[in:] stays in the loop.
    projected = jnp.einsum("btd,dg->tbg", inputs, kernel[:in_features]) + bias
    recurrent_kernel = kernel[in_features:]
    alive = (jnp.arange(time)[:, None] < lengths[None, :])[..., None]  # [T, B, 1]

    def step(carry: Carry, xs: tuple[jax.Array, jax.Array]) -> tuple[Carry, jax.Array]:
      x_gates, step_alive = xs
      c, h = carry
      new_c, new_h = lstm_update(x_gates + h @ recurrent_kernel, c, forget_bias)
      carry = jnp.where(step_alive, new_c, c), jnp.where(step_alive, new_h, h)
      return carry, jnp.where(step_alive, new_h, 0.0)

    # Zeros derived from the inputs, so that under `shard_map` they vary along the same axes.
    zeros = jnp.zeros_like(projected[0, :, :self.features])
    final, outputs = jax.lax.scan(step, (zeros, zeros), (projected, alive), reverse=self.reverse)
    outputs = jnp.transpose(outputs, (1, 0, 2))
    outputs = nn.Dropout(self.output_dropout, name="output_dropout")(outputs, deterministic=deterministic)
    return outputs, final


class BiLSTM(nn.Module):
  """One bidirectional layer: returns fw ‖ bw outputs [B, T, 2n] and the fw and bw final states.

  Each direction drops its own input and output (DropoutWrapper on each cell).
  """

  features: int
  tf_forget_bias: bool = True
  input_dropout: float = 0.0
  output_dropout: float = 0.0

  @nn.compact
  def __call__(self, inputs: jax.Array, lengths: jax.Array, *,
               deterministic: bool) -> tuple[jax.Array, Carry, Carry]:
    def direction(name: str, reverse: bool) -> tuple[jax.Array, Carry]:
      return LSTM(self.features, reverse=reverse, tf_forget_bias=self.tf_forget_bias,
                  input_dropout=self.input_dropout, output_dropout=self.output_dropout,
                  name=name)(inputs, lengths, deterministic=deterministic)

    fw_outputs, fw_final = direction("fw", reverse=False)
    bw_outputs, bw_final = direction("bw", reverse=True)
    return jnp.concatenate([fw_outputs, bw_outputs], axis=-1), fw_final, bw_final


class StackedBiLSTMOutput(NamedTuple):
  """Per-layer outputs [B, T, 2n] (fw ‖ bw) and the final h [B, n] of every layer, per direction."""

  outputs: tuple[jax.Array, ...]
  final_fw: tuple[jax.Array, ...]
  final_bw: tuple[jax.Array, ...]


class StackedBiLSTM(nn.Module):
  """TF's `stack_bidirectional_dynamic_rnn`: layer k+1 reads the fw ‖ bw outputs of layer k.

  Parameters live under `layer_{k}/fw` and `layer_{k}/bw`.
  """

  features: int
  num_layers: int = 1
  tf_forget_bias: bool = True
  input_dropout: float = 0.0
  output_dropout: float = 0.0

  @nn.compact
  def __call__(self, inputs: jax.Array, lengths: jax.Array, *,
               deterministic: bool) -> StackedBiLSTMOutput:
    outputs, final_fw, final_bw = [], [], []
    for layer in range(self.num_layers):
      inputs, (_, fw_h), (_, bw_h) = BiLSTM(
          self.features, tf_forget_bias=self.tf_forget_bias, input_dropout=self.input_dropout,
          output_dropout=self.output_dropout, name=f"layer_{layer}")(
              inputs, lengths, deterministic=deterministic)
      outputs.append(inputs)
      final_fw.append(fw_h)
      final_bw.append(bw_h)
    return StackedBiLSTMOutput(tuple(outputs), tuple(final_fw), tuple(final_bw))
