"""CharNER (Kuru et al. 2016) over bytes, as in the paper's code (research-notes §2.2).

The sentence is one byte sequence (words joined by one space, `polyglot_ner.kinds.charner.batches`);
each byte is embedded, a whole byte vector dropped at train time, and read by a stacked BiLSTM whose
every layer has its own output dropout (the paper's keep probabilities [.5, .5, .5, .5, .2]); a
dense layer scores each byte's class (O or an entity type, no B/I). The loss is the mean per-byte
cross-entropy over the batch's unpadded bytes; `decode` turns the scores into word tags (the
word-consistent Viterbi of `polyglot_ner.kinds.charner.decode`).

Parameter tree (top level): `byte_embedding`, `layer_0` ... `layer_{n-1}` (each with `fw` and `bw`
TF `LSTMCell` parameters, see `lstm.BiLSTM`), `output` (the label-dependent dense layer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from polyglot_ner.kinds.charner import decode
from polyglot_ner.models import lstm

BYTE_VOCAB = 256
Batch = Mapping[str, jax.Array]


class CharNER(nn.Module):
  """Per-byte class scores of byte-level batches (`bytes` [B, L], `lengths` [B]).

  Attributes:
    num_classes: byte classes: O plus the entity types (`batches.byte_classes`).
    emb_dim: byte embedding size (paper: 128, Glorot-uniform initialised).
    emb_std: 0 (default): the byte embedding is Glorot-uniform (the paper's); > 0: normal with this
      standard deviation (PyTorch's `nn.Embedding` draws N(0, 1); see configs/charner.py).
    emb_dropout: rate at which a whole byte vector is dropped (paper: keep 0.8).
    hidden: units per direction of every BiLSTM layer (paper: 128).
    output_dropout: one output dropout rate per BiLSTM layer, bottom first; its length is the
      number of layers (paper: keep [.5, .5, .5, .5, .2], so rates (.5, .5, .5, .5, .8)).
      As TF's DropoutWrapper: a fresh mask per step and direction, training only.
    tf_forget_bias: add TF's +1.0 to the forget gate at run time (paper: yes).
    scoring: what `decode`'s Viterbi adds along a path (`decode.SCORINGS`): "log_prob"
      (default: the most probable word-consistent labelling) or "prob" (the paper's code).
  """

  num_classes: int
  emb_dim: int = 128
  emb_std: float = 0.0
  emb_dropout: float = 0.2
  hidden: int = 128
  output_dropout: Sequence[float] = (0.5, 0.5, 0.5, 0.5, 0.8)
  tf_forget_bias: bool = True
  scoring: str = "log_prob"

  @nn.compact
  def __call__(self, batch: Batch, *, train: bool) -> jax.Array:
    """Logits [B, L, num_classes] (meaningless past each row's length)."""
    lengths = batch["lengths"]
    embedding_init = (nn.initializers.normal(self.emb_std) if self.emb_std > 0 else
                      nn.initializers.glorot_uniform())
    x = nn.Embed(BYTE_VOCAB, self.emb_dim, embedding_init=embedding_init,
                 name="byte_embedding")(batch["bytes"])
    x = nn.Dropout(self.emb_dropout, broadcast_dims=(2,), name="emb_dropout")(
        x, deterministic=not train)
    # lstm.StackedBiLSTM has one dropout rate for all layers; the paper's differ per layer.
    x = jnp.swapaxes(x, 0, 1)  # time-major, as the LSTMs run
    for layer, rate in enumerate(self.output_dropout):
      x, _, _ = lstm.BiLSTM(self.hidden, tf_forget_bias=self.tf_forget_bias,
                            output_dropout=rate, name=f"layer_{layer}")(
                                x, lengths, deterministic=not train)
    return jnp.swapaxes(nn.Dense(self.num_classes, kernel_init=nn.initializers.glorot_uniform(),
                                 name="output")(x), 0, 1)

  def decode(self, batch: Batch) -> tuple[jax.Array, jax.Array]:
    """Word IOB2 tag ids [B, (L + 1) // 2] (0 past each row's words; `decode.word_tags`)
    and each row's best path score [B], by the word-consistent Viterbi under `scoring`."""
    return decode.decode_words(self(batch, train=False), batch["lengths"], batch["kinds"],
                               scoring=self.scoring)


def byte_cross_entropy(logits: jax.Array, labels: jax.Array, lengths: jax.Array
                       ) -> tuple[jax.Array, jax.Array]:
  """Per row: the summed cross-entropy of its unpadded bytes [B] and their number [B] (float32).

  The paper's loss (`sequence_loss`) is the mean over all unpadded bytes of the batch:
  `sum(sums) / max(sum(counts), 1)`, with both sums taken over every shard of the batch before
  dividing. A row of length 0 gives 0 and 0.
  """
  log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  gold = jnp.take_along_axis(log_probs, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
  real = jnp.arange(logits.shape[1])[None, :] < lengths[:, None]
  return -jnp.sum(jnp.where(real, gold, 0.0), axis=1), lengths.astype(jnp.float32)
