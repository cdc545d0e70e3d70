"""Byte-to-Span (Gillick et al. 2016) as in the paper's code (research-notes §2.1): a byte-level
LSTM encoder reads a window, a separate LSTM decoder started from its final states writes the
window's entity spans as (start, length, type) triples and STOP (`windows.Vocabulary`).

* Input: bytes [B, W] embedded by a 257-row table (row 256 is the dropped byte: training replaces
  each byte by it with probability `byte_dropout`).
* Encoder: `num_layers` unidirectional TF `LSTMCell`s (`lstm.lstm_update`: gates i, j, f, o, +1
  forget bias), every kernel uniform(-init_scale, init_scale), biases 0, TF's `DropoutWrapper` on
  every layer (a fresh mask per step on its input and its output, training only); its state stops
  at each window's length and only the final (c, h) of every layer is kept. No attention. With
  `position_inputs` (not the paper's) each byte's input is its embedding plus a
  learned embedding of its offset in the window: the start tokens S:i name offsets, which the
  plain encoder must count (RESULTS.md, BTS round three).
* Decoder: the same stack with its own parameters, started from the encoder's final states, reading
  output-token embeddings; logits come from a bias-free projection of its top output. Training
  uses teacher forcing (input GO + the targets but STOP); the loss is each window's summed
  cross-entropy over its target tokens (the step averages it over the batch's windows).
* Greedy decoding (`decode`) in `lax.while_loop`, batched, stops when every row has written STOP or
  after `max_spans` triples. It always respects the grammar: S or STOP, then L, then a type, then
  S or STOP again. With `constrained_decoding` (the default; the original argmaxes over every
  token and its parser skips malformed triples) spans also keep the targets' geometry: inside the
  window's bytes, in descending start order, disjoint.

Parameter tree: `byte_embedding` [257, E], `position_embedding` [W, E] (with `position_inputs`),
`encoder/layer_k` and `decoder/layer_k` (`kernel` [in + n, 4n] over `[x, h]`, `bias` [4n]),
`output_embedding` [V, E_out], `projection` [n, V]. The embeddings (unless `emb_std` > 0) and the
projection are Glorot-uniform, as TF's `get_variable` and `Dense` defaults; V depends on the label
map's types (fine-tuning onto new types: `dont_load` `^output_embedding`, `^projection`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp

from polyglot_ner.kinds.bts import windows
from polyglot_ner.models import lstm

DROPPED_BYTE = 256
Batch = Mapping[str, jax.Array]
Cell = tuple[jax.Array, jax.Array]  # one layer's kernel and bias
State = tuple[tuple[jax.Array, jax.Array], ...]  # (c, h) of every layer


class Decoded(NamedTuple):
  """Greedy decoding's tokens [B, 3 * max_spans + 1] (STOP after each row's last triple) and the
  log-probability [B] of each row's tokens up to its STOP under the model's softmax (unmasked: the
  negative teacher-forced loss of the same tokens); and per token [B, 3 * max_spans + 1] its
  log-probability under the decoder's step distribution, the softmax renormalised over the
  tokens the grammar allows there (0 after STOP): what a span's score multiplies."""

  tokens: jax.Array
  log_prob: jax.Array
  token_log_probs: jax.Array


def _symmetric_uniform(scale: float) -> nn.initializers.Initializer:
  """uniform(-scale, scale), TF's `random_uniform(minval=-scale, maxval=scale)`."""

  def init(key: jax.Array, shape: Sequence[int], dtype=jnp.float32) -> jax.Array:
    return jax.random.uniform(key, shape, dtype, -scale, scale)

  return init


class _CellParams(nn.Module):
  """One TF `LSTMCell`'s parameters with a uniform kernel: `kernel` [in + n, 4n], `bias` [4n]."""

  in_features: int
  features: int
  init_scale: float

  def setup(self):
    self.kernel = self.param("kernel", _symmetric_uniform(self.init_scale),
                             (self.in_features + self.features, 4 * self.features))
    self.bias = self.param("bias", nn.initializers.zeros_init(), (4 * self.features,))


class _Stack(nn.Module):
  """The parameters of `num_layers` stacked cells (`layer_k`), layer 0 reading `in_features`."""

  in_features: int
  features: int
  num_layers: int
  init_scale: float

  def setup(self):
    self.layers = [_CellParams(self.in_features if k == 0 else self.features, self.features,
                               self.init_scale, name=f"layer_{k}")
                   for k in range(self.num_layers)]

  def cells(self) -> list[Cell]:
    """Every layer's (kernel, bias), bottom first: read once, outside any loop."""
    return [(layer.kernel, layer.bias) for layer in self.layers]


def _step(cells: Sequence[Cell], state: State, x: jax.Array, masks: Sequence[tuple] | None,
          forget_bias: float) -> tuple[State, jax.Array]:
  """One time step of a stack: the new state and the top layer's (dropped-out) output. `masks`:
  per layer (input mask, output mask), scaled keep masks, or None (no dropout)."""
  new_state = []
  for k, ((kernel, bias), (c, h)) in enumerate(zip(cells, state)):
    if masks is not None:
      x = x * masks[k][0]
    c, h = lstm.lstm_update(jnp.concatenate([x, h], axis=-1) @ kernel + bias, c, forget_bias)
    new_state.append((c, h))
    x = h if masks is None else h * masks[k][1]
  return tuple(new_state), x


def _project_tokens(table: jax.Array, ids: jax.Array, cell: Cell,
                    input_mask: jax.Array | None) -> jax.Array:
  """A stack's bottom layer's projected inputs [T, B, 4n] (`x @ kernel[:E] + bias`) of token ids
  [T, B] embedded by `table` [V, E]. Without an input dropout mask, each table row is projected
  once and the result gathered: V rows instead of T x B, and the gradient a scatter of [T, B, 4n]
  into V rows instead of two products over every step."""
  kernel, bias = cell
  in_kernel = kernel[:table.shape[1]]
  if input_mask is None:
    return (table @ in_kernel + bias)[ids]
  return (table[ids] * input_mask) @ in_kernel + bias


def _stack(cells: Sequence[Cell], projected: jax.Array, lengths: jax.Array | None,
           initial: State | None, masks: Sequence[tuple] | None, forget_bias: float
           ) -> tuple[State, jax.Array]:
  """`_step` over a whole time-major sequence, one layer at a time: `projected` is the bottom
  layer's projected inputs (`_project_tokens`, its input mask applied). Returns every layer's final
  (c, h) and the top layer's (dropped-out) outputs [T, B, n]. A layer's input projection is one
  product over all steps and its recurrence has the hand-written gradient (`lstm.recurrence`);
  `lengths` [B] (None: every step is real) holds the state past each row's length; `initial`:
  every layer's starting (c, h) (None: zeros); `masks` as `_step`'s, [T, B, features]."""
  state = []
  for k, (kernel, bias) in enumerate(cells):
    if k:
      x = outputs if masks is None else outputs * masks[k][0]
      projected = x @ kernel[:x.shape[-1]] + bias
    features = kernel.shape[1] // 4
    outputs, final = lstm.recurrence(projected, kernel[-features:], lengths,
                                     None if initial is None else initial[k], forget_bias)
    if masks is not None:
      outputs = outputs * masks[k][1]
    state.append(final)
  return tuple(state), outputs


class ByteToSpan(nn.Module):
  """Byte-to-Span over window batches (`windows.Windows.batch`).

  Attributes:
    types: the label map's entity types (they give the output vocabulary).
    window: window size W in bytes (paper: 60); the vocabulary has S:0..W-1 and L:1..W.
    byte_emb_dim: byte embedding size (paper: 256).
    num_layers, hidden: the encoder's and the decoder's layers and units (paper: 4 x 320).
    output_emb_dim: output-token embedding size (paper: 320).
    emb_std: 0 (default): the byte and output-token embeddings are Glorot-uniform (the paper's);
      > 0: normal with this standard deviation (PyTorch's `nn.Embedding` draws N(0, 1)).
    init_scale: LSTM kernels are uniform(-init_scale, init_scale) (paper: 0.08).
    byte_dropout: probability of replacing an input byte by id 256, training only (paper: 0.3).
    dropout: rate on every LSTM layer's input and output, training only (paper: keep 0.8).
    tf_forget_bias: add TF's +1.0 to the forget gate at run time (paper: yes).
    max_spans: decoding stops after this many triples (a 60-byte window holds at most 30
      entities, each followed by an O space).
    constrained_decoding: spans inside the window, descending, disjoint (module docstring).
    position_inputs: add a learned embedding of each byte's offset in its window to the byte's
      embedding.
  """

  types: tuple[str, ...]
  window: int = windows.DEFAULT_WINDOW
  byte_emb_dim: int = 256
  num_layers: int = 4
  hidden: int = 320
  output_emb_dim: int = 320
  emb_std: float = 0.0
  init_scale: float = 0.08
  byte_dropout: float = 0.3
  dropout: float = 0.2
  tf_forget_bias: bool = True
  max_spans: int = 30
  constrained_decoding: bool = True
  position_inputs: bool = False

  def setup(self):
    self.vocabulary = windows.Vocabulary(self.types, self.window)
    glorot = nn.initializers.glorot_uniform()
    embedding = nn.initializers.normal(self.emb_std) if self.emb_std > 0 else glorot
    self.byte_embedding = self.param("byte_embedding", embedding, (DROPPED_BYTE + 1,
                                                                   self.byte_emb_dim))
    if self.position_inputs:
      self.position_embedding = self.param("position_embedding", embedding,
                                           (self.window, self.byte_emb_dim))
    self.encoder = _Stack(self.byte_emb_dim, self.hidden, self.num_layers, self.init_scale)
    self.decoder = _Stack(self.output_emb_dim, self.hidden, self.num_layers, self.init_scale)
    self.output_embedding = self.param("output_embedding", embedding,
                                       (self.vocabulary.size, self.output_emb_dim))
    self.projection = self.param("projection", glorot, (self.hidden, self.vocabulary.size))

  @property
  def _forget_bias(self) -> float:
    return lstm.TF_FORGET_BIAS if self.tf_forget_bias else 0.0

  def _masks(self, steps: int, batch: int, in_features: int, train: bool
             ) -> list[tuple[jax.Array, jax.Array]] | None:
    """Per layer, TF DropoutWrapper masks [steps, B, features] for its input and its output."""
    if not train or self.dropout == 0.0:
      return None
    keep = 1.0 - self.dropout
    rng = self.make_rng("dropout")

    def mask(key: jax.Array, features: int) -> jax.Array:
      return jax.random.bernoulli(key, keep, (steps, batch, features)).astype(jnp.float32) / keep

    keys = jax.random.split(rng, 2 * self.num_layers)
    return [(mask(keys[2 * k], in_features if k == 0 else self.hidden),
             mask(keys[2 * k + 1], self.hidden)) for k in range(self.num_layers)]

  def encode(self, batch: Batch, *, train: bool) -> State:
    """The encoder's final (c, h) of every layer, at each window's length."""
    ids = batch["bytes"]
    if train and self.byte_dropout > 0.0:
      dropped = jax.random.bernoulli(self.make_rng("dropout"), self.byte_dropout, ids.shape)
      ids = jnp.where(dropped, DROPPED_BYTE, ids)
    ids = ids.T  # [W, B]: time-major, as the layers run
    masks = self._masks(*ids.shape, self.byte_emb_dim, train)
    input_mask = None if masks is None else masks[0][0]
    cells = self.encoder.cells()
    projected = _project_tokens(self.byte_embedding, ids, cells[0], input_mask)
    if self.position_inputs:  # the product is linear: projecting the sum's terms apart is exact
      kernel, _ = cells[0]
      offsets = jnp.broadcast_to(jnp.arange(ids.shape[0])[:, None], ids.shape)
      projected += _project_tokens(self.position_embedding, offsets, (kernel, 0.0), input_mask)
    state, _ = _stack(cells, projected, batch["lengths"], None, masks, self._forget_bias)
    return state

  def __call__(self, batch: Batch, *, train: bool) -> jax.Array:
    """Each window's loss [B]: the summed cross-entropy of its target tokens, teacher forced."""
    state = self.encode(batch, train=train)
    targets = batch["targets"].T  # [T, B]
    teacher = jnp.concatenate([jnp.full_like(targets[:1], self.vocabulary.GO), targets[:-1]])
    masks = self._masks(*teacher.shape, self.output_emb_dim, train)
    cells = self.decoder.cells()
    projected = _project_tokens(self.output_embedding, teacher, cells[0],
                                None if masks is None else masks[0][0])
    _, outputs = _stack(cells, projected, None, state, masks, self._forget_bias)
    log_probs = jax.nn.log_softmax(outputs @ self.projection, axis=-1)  # [T, B, V]
    gold = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    real = jnp.arange(targets.shape[0])[:, None] < batch["target_lengths"][None, :]
    return -jnp.sum(jnp.where(real, gold, 0.0), axis=0)

  def decode(self, batch: Batch) -> Decoded:
    """Greedy decoding of every window (no dropout), within the grammar and `max_spans`."""
    state = self.encode(batch, train=False)
    vocabulary = self.vocabulary
    size = batch["lengths"].shape[0]
    width = 3 * self.max_spans + 1
    cells = self.decoder.cells()
    tokens = jnp.arange(vocabulary.size)
    is_start = (tokens >= vocabulary.first_start) & (tokens < vocabulary.first_length)
    is_length = tokens >= vocabulary.first_length
    is_type = (tokens >= vocabulary.first_type) & (tokens < vocabulary.first_start)
    value = jnp.where(is_start, tokens - vocabulary.first_start,
                      tokens - vocabulary.first_length + 1)  # S:i -> i, L:l -> l

    def allowed(position: jax.Array, bound: jax.Array, start: jax.Array) -> jax.Array:
      """[B, V] tokens the grammar allows at `position`; `bound` [B]: the next span's end must
      not pass it (the window's length, then the last span's start); `start` [B]: this span's."""
      if self.constrained_decoding:
        starts_ok = is_start & (value[None, :] < bound[:, None])
        lengths_ok = is_length & (value[None, :] <= (bound - start)[:, None])
      else:
        starts_ok = jnp.broadcast_to(is_start, (size, vocabulary.size))
        lengths_ok = jnp.broadcast_to(is_length, (size, vocabulary.size))
      may_start = (position < 3 * self.max_spans) & bool(self.types)
      phase = position % 3
      return jnp.where(phase == 0, (starts_ok & may_start) | (tokens == vocabulary.STOP),
                       jnp.where(phase == 1, lengths_ok, is_type[None, :]))

    def cond(carry) -> jax.Array:
      position, _, _, done, *_ = carry
      return (position < width) & ~jnp.all(done)

    def body(carry):
      position, state, previous, done, bound, start, output, log_prob, token_log_probs = carry
      state, top = _step(cells, state, self.output_embedding[previous], None, self._forget_bias)
      log_probs = jax.nn.log_softmax(top @ self.projection, axis=-1)
      masked = jax.nn.log_softmax(
          jnp.where(allowed(position, bound, start), log_probs, -jnp.inf), axis=-1)
      choice = jnp.argmax(masked, axis=-1)
      choice = jnp.where(done, vocabulary.STOP, choice)
      token_log_probs = token_log_probs.at[:, position].set(jnp.where(
          done, 0.0, jnp.take_along_axis(masked, choice[:, None], axis=-1)[:, 0]))
      log_prob = log_prob + jnp.where(done, 0.0, jnp.take_along_axis(
          log_probs, choice[:, None], axis=-1)[:, 0])
      chosen_start = value[choice]
      start = jnp.where(position % 3 == 0, chosen_start, start)
      bound = jnp.where(position % 3 == 2, start, bound)
      output = output.at[:, position].set(choice)
      return (position + 1, state, choice, done | (choice == vocabulary.STOP), bound, start,
              output, log_prob, token_log_probs)

    lengths = batch["lengths"]
    carry = (jnp.zeros((), jnp.int32), state, jnp.full((size,), vocabulary.GO, jnp.int32),
             jnp.zeros((size,), bool), lengths.astype(jnp.int32), jnp.zeros((size,), jnp.int32),
             jnp.full((size, width), vocabulary.STOP, jnp.int32), jnp.zeros((size,), jnp.float32),
             jnp.zeros((size, width), jnp.float32))
    *_, output, log_prob, token_log_probs = lax.while_loop(cond, body, carry)
    return Decoded(output, log_prob, token_log_probs)
