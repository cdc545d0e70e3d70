"""CharNER as a model kind: byte rows, the mean per-byte cross-entropy, word-consistent Viterbi.

Batches follow `polyglot_ner.kinds.charner.batches` (each sentence one row of bytes, words joined by
one space, bucketed by `config.data.length_buckets` in bytes; a row's length is its number of
bytes). The model scores each byte's class: O or an entity type of the run's label map
(`batches.byte_classes`), so the module's output size comes from the label map and a
polyglot parent's label map gives its fine-tuned children the same output layer.

The training loss is the paper's mean cross-entropy over all unpadded bytes of the global batch:
`loss` gives each row's mean and its byte count as its weight (see `base.Kind.loss`). Prediction
is the word-consistent Viterbi over bytes and the word IOB2 tags it implies, jit-compiled and
batched (`charner.CharNER.decode`); `config.model.scoring` chooses what a path adds:
log-probabilities (default) or the paper's probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.eval import entities as entities_lib
from polyglot_ner.kinds import base
from polyglot_ner.kinds.charner import batches
from polyglot_ner.kinds.charner import decode
from polyglot_ner.kinds.charner import model
from polyglot_ner.models import crf as crf_lib


class Kind(base.Kind, base.ScoresEntities):
  """Kuru et al.'s CharNER over bytes, as in the paper's code (`polyglot_ner.kinds.charner.model`)."""

  module_class = model.CharNER
  label_fields = ("num_classes",)
  row_likelihood = ("a sentence; its log-likelihood: the sum over its bytes of each byte's gold "
                    "class log-probability, the whole sentence's (training's loss is its mean per "
                    "byte)")

  def __init__(self, config: ml_collections.ConfigDict, label_map: labels_lib.LabelMap):
    super().__init__(config, label_map)
    if self.module.scoring not in decode.SCORINGS:
      raise errors.UserError(f"config.model.scoring: unknown scoring {self.module.scoring!r}; "
                             f"choose from {', '.join(decode.SCORINGS)}")

  def module_args(self) -> dict[str, Any]:
    return {"num_classes": len(batches.byte_classes(self.label_map))}

  def train_batches(self, languages: Mapping[str, Sequence[conll.Sentence]], mixture: Any, *,
                    seed: int, num_shards: int) -> batches.ByteTrainBatches:
    return batches.ByteTrainBatches(
        languages, self.label_map, batch_size=self.config.batch_size, mixture=mixture, seed=seed,
        length_buckets=self.config.data.length_buckets, sort_window=self.config.data.sort_window,
        num_shards=num_shards)

  def eval_batches(self, sentences: Sequence[conll.Sentence], *, lang: int, batch_size: int,
                   num_shards: int, fitted: bool = False) -> batches.ByteEvalBatches:
    return batches.ByteEvalBatches(
        sentences, self.label_map, batch_size=batch_size, lang=lang,
        length_buckets=self.config.data.length_buckets, num_shards=num_shards, fitted=fitted)

  def example_batch(self) -> dict[str, np.ndarray]:
    """One sentence of one one-byte word."""
    return {"bytes": np.ones((1, 1), np.int32),
            "labels": np.zeros((1, 1), np.int32),
            "kinds": np.full((1, 1), batches.WORD_START, np.int32),
            "lengths": np.ones((1,), np.int32),
            "lang": np.zeros((1,), np.int32)}

  def loss(self, params: base.Params, batch: base.Batch, rng: jax.Array | None, *, train: bool
           ) -> tuple[jax.Array, jax.Array]:
    """Each row's mean byte cross-entropy, weighted by its number of bytes."""
    rngs = {} if rng is None else {"dropout": rng}
    logits = self.module.apply({"params": params}, batch, train=train, rngs=rngs)
    sums, counts = model.byte_cross_entropy(logits, batch["labels"], batch["lengths"])
    return sums / jnp.maximum(counts, 1.0), counts

  def predict(self, params: base.Params, batch: base.Batch) -> jax.Array:
    """Word IOB2 tag ids [B, (L + 1) // 2] (0 past each row's words)."""
    tags, _ = self.module.apply({"params": params}, batch, method="decode")
    return tags

  def predict_entities(self, params: base.Params, batch: base.Batch
                       ) -> tuple[jax.Array, jax.Array]:
    """`predict`'s word tag ids [B, W] and per word the log-probability of the entity ending
    there [B, W] (`entity_scores`)."""
    logits = self.module.apply({"params": params}, batch, train=False)
    tags, _ = decode.decode_words(logits, batch["lengths"], batch["kinds"],
                                  scoring=self.module.scoring)
    emissions, words = decode.word_emissions(logits, batch["lengths"], batch["kinds"])
    labels = self.label_map.tags
    return tags, crf_lib.entity_log_marginals(
        emissions, words, jnp.zeros((len(labels), len(labels))), tags=tags, labels=labels,
        allowed=crf_lib.allowed_transitions(labels, "IOB2"))

  def entity_scores(self, data: batches.ByteEvalBatches, outputs: Sequence[Any]
                    ) -> list[tuple[list[str], list[float]]]:
    """An entity's probability under the byte posteriors renormalised over the word-consistent
    labellings that decoding chooses from (`decode.word_emissions`: a CRF over words, exact by
    forward-backward): that the bytes of its words and the spaces between them carry its type,
    the space before it does not (or it starts the sentence), and the space after it does not
    carry its type on to the next word. Whatever `scoring` the decoding adds."""
    return entities_lib.by_last_words(self, data, outputs)

  def tags(self, data: batches.ByteEvalBatches, predictions: Sequence[np.ndarray]
           ) -> list[list[str]]:
    return [self.label_map.decode(ids) for ids in self.per_sentence(data, predictions)]

  def per_sentence(self, data: batches.ByteEvalBatches, outputs: Sequence[Any],
                   axis: int | None = 0) -> list[Any]:
    """Cut to each sentence's words (`predict`'s word tags)."""
    return data.per_sentence(outputs, data.packed.num_words, axis)
