"""The paper's byte-level BiLSTM-CRF ("CRF" in Mueller et al. 2020, `standard_word_crf` in its code).

Each word's UTF-8 bytes are embedded and read by a stacked BiLSTM; the final h of every
(direction, layer) pair, in TF's order fw l1, fw l2, bw l1, bw l2, is the word vector (4 x 256 =
1024-d at the paper's sizes). A BiLSTM over the word vectors feeds a dense layer of emission
scores, and a linear-chain CRF with tag-to-tag transitions only (no start/end by default) scores
tag sequences. Dropout follows TF's DropoutWrapper on every LSTM cell: input and output, a fresh
mask per step, training only.

The byte encoder runs once over the batch's table of distinct words ([U, W] bytes, see
`polyglot_ner.kinds.byte_crf.batches`) and the word encoder reads the word vectors by `word_ids`
(at inference projecting each distinct word's vector once, `lstm.BiLSTM`'s `ids`; the byte
encoder reads the byte embeddings alike), or, in `run.entities`' batches, takes the vectors of a
table encoded once per call (`word_vectors` in the batch); shapes are static, padding is handled
by lengths alone (`word_byte_lengths` for bytes, `lengths` for words). Under dropout, the
occurrences of a word in one batch share the byte encoder's dropout masks.

Decoding keeps to valid IOB2 by default (Viterbi over the transitions `crf.allowed_transitions`
permits: no I-X first or after O or another type); training is unconstrained, as in the paper.
Both are switches; with both off the model computes exactly the paper's unconstrained CRF.

Parameter tree (top level): `byte_embedding`, `byte_encoder`, `word_encoder`, `output` (the
emission layer), `crf`. Fine-tuning that resets the label-dependent parts drops `output` and `crf`.
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp

from polyglot_ner.models import crf as crf_lib
from polyglot_ner.models import lstm

BYTE_VOCAB = 256
Batch = Mapping[str, jax.Array]


def tf_truncated_normal(stddev: float) -> nn.initializers.Initializer:
  """TF's `truncated_normal(0, stddev)`: a normal re-drawn outside two standard deviations."""
  def init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    return stddev * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)
  return init


class ByteCRF(nn.Module):
  """Byte-level BiLSTM-CRF over word-level batches (see `polyglot_ner.kinds.byte_crf.batches`).

  Attributes:
    labels: the run's IOB2 tags in label-map order (`LabelMap.tags`); one emission score each.
    byte_emb_dim: byte embedding size (paper: 256).
    byte_emb_std: standard deviation of the byte embeddings' truncated-normal initialisation
      (paper: 0.001, under which the byte LSTMs see almost nothing for the first epochs; 1.0
      learns much faster, see configs/byte_crf.py).
    byte_layers: stacked BiLSTM layers over each word's bytes (paper: 2).
    byte_hidden: units per direction of the byte BiLSTM (paper: 256).
    byte_dropout: dropout rate on input and output of every byte LSTM cell (paper: keep 0.8).
    word_layers: stacked BiLSTM layers over the words of a sentence (paper: 1).
    word_hidden: units per direction of the word BiLSTM (paper: 512).
    word_dropout: dropout rate on input and output of every word LSTM cell (paper: keep 0.8).
    tf_forget_bias: add TF's +1.0 to the forget gate at run time (paper: yes).
    crf_start_end: give the CRF start and end scores (paper: no, as `tf.contrib.crf`).
    crf_method: forward algorithm and Viterbi of the CRF, "scan" or "associative" (see
      `crf.log_partition`).
    constrained_decoding: Viterbi over valid IOB2 sequences only (off: the paper's decoding).
    constrained_training: the likelihood normalises over valid IOB2 sequences only (paper: no).
  """

  labels: tuple[str, ...]
  byte_emb_dim: int = 256
  byte_emb_std: float = 0.001
  byte_layers: int = 2
  byte_hidden: int = 256
  byte_dropout: float = 0.2
  word_layers: int = 1
  word_hidden: int = 512
  word_dropout: float = 0.2
  tf_forget_bias: bool = True
  crf_start_end: bool = False
  crf_method: str = "scan"
  constrained_decoding: bool = True
  constrained_training: bool = False

  @property
  def num_tags(self) -> int:
    return len(self.labels)

  @property
  def decoding_allowed(self) -> crf_lib.Allowed | None:
    """The IOB2 transitions decoding keeps to (NumPy constants); None when unconstrained."""
    return self._iob2(self.constrained_decoding)

  @property
  def training_allowed(self) -> crf_lib.Allowed | None:
    """The IOB2 transitions the likelihood normalises over; None when unconstrained."""
    return self._iob2(self.constrained_training)

  def _iob2(self, constrained: bool) -> crf_lib.Allowed | None:
    return crf_lib.allowed_transitions(self.labels, "IOB2") if constrained else None

  def setup(self):
    self.byte_embedding = nn.Embed(BYTE_VOCAB, self.byte_emb_dim,
                                   embedding_init=tf_truncated_normal(self.byte_emb_std))
    self.byte_encoder = lstm.StackedBiLSTM(
        self.byte_hidden, self.byte_layers, tf_forget_bias=self.tf_forget_bias,
        input_dropout=self.byte_dropout, output_dropout=self.byte_dropout)
    self.word_encoder = lstm.StackedBiLSTM(
        self.word_hidden, self.word_layers, tf_forget_bias=self.tf_forget_bias,
        input_dropout=self.word_dropout, output_dropout=self.word_dropout)
    self.output = nn.Dense(self.num_tags, kernel_init=nn.initializers.glorot_uniform())
    self.crf = crf_lib.CRF(self.num_tags, use_start_end=self.crf_start_end, method=self.crf_method)

  def word_vectors(self, batch: Batch, *, train: bool) -> jax.Array:
    """[U, 2 * byte_layers * byte_hidden], one per word of the batch's table (`word_ids` index
    it): final h of fw layers then bw layers.

    The table's words are read side by side in packed rows (`batches.pack_words`), the state
    restarting at each word, so the encoder's work follows the words' bytes, not the padding. The
    rows go to the encoder time-major ([W, R], byte column first), the layout of its scans.
    """
    table_size, width = batch["word_bytes"].shape
    lengths = batch["word_byte_lengths"]
    num_rows = batch["pack_lengths"].shape[0]
    row, column = jnp.divmod(batch["pack_offsets"], width)
    # Flat positions in the time-major rows: each word's first byte; a byte later is a step later.
    first = column * num_rows + row
    in_word = jnp.arange(width) < lengths[:, None]
    slots = jnp.where(in_word, first[:, None] + jnp.arange(width) * num_rows, num_rows * width)
    def pack(values: jax.Array) -> jax.Array:
      packed = jnp.zeros(num_rows * width, jnp.int32).at[slots].set(values, mode="drop")
      return packed.reshape(width, num_rows)
    segments = pack(jnp.broadcast_to(jnp.arange(1, table_size + 1)[:, None], slots.shape))
    encoded = self.byte_encoder(self.byte_embedding.embedding, batch["pack_lengths"],
                                segments=segments, ids=pack(batch["word_bytes"]),
                                deterministic=not train)
    last = first + (jnp.maximum(lengths, 1) - 1) * num_rows
    half = self.byte_hidden
    flat = [layer.reshape(width * num_rows, 2 * half) for layer in encoded.outputs]
    vectors = jnp.concatenate([layer[last, :half] for layer in flat] +
                              [layer[first, half:] for layer in flat], axis=-1)
    return jnp.where((lengths > 0)[:, None], vectors, 0.0)

  def emissions(self, batch: Batch, *, train: bool) -> jax.Array:
    """Emission scores [B, T, num_tags] (meaningless past each row's length). A batch may bring
    its table's word vectors (`word_vectors` [U, D], computed once for many batches) instead of
    its bytes."""
    table = (batch["word_vectors"] if "word_vectors" in batch
             else self.word_vectors(batch, train=train))
    encoded = self.word_encoder(table, batch["lengths"],
                                ids=batch["word_ids"].T, deterministic=not train)
    return jnp.swapaxes(self.output(encoded.outputs[-1]), 0, 1)

  def __call__(self, batch: Batch, *, train: bool) -> jax.Array:
    """log p(tags | sentence) [B]; 0 for empty (padding) rows."""
    return self.crf(self.emissions(batch, train=train), batch["tags"], batch["lengths"],
                    allowed=self.training_allowed)

  def decode(self, batch: Batch) -> tuple[jax.Array, jax.Array]:
    """Viterbi tags [B, T] int32 (0 past each length) and their scores [B], without dropout."""
    return self.crf.decode(self.emissions(batch, train=False), batch["lengths"],
                           allowed=self.decoding_allowed)
