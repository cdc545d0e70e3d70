"""The byte CRF as a model kind: word-level batches, CRF log-likelihood, Viterbi word tags.

Batches follow `batches` (a table of each batch's distinct words, bucketed by
`config.data.length_buckets`, `byte_buckets` and `max_word_bytes`); a row is a sentence and its
length is its number of words. Beyond the seam, the kind exposes the CRF's other outputs
(emissions, marginals, k-best paths, samples) for the runs API and the analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from polyglot_ner.data import conll
from polyglot_ner.eval import entities as entities_lib
from polyglot_ner.kinds import base
from polyglot_ner.kinds.byte_crf import batches
from polyglot_ner.kinds.byte_crf import model
from polyglot_ner.models import crf as crf_lib


class Kind(base.Kind, base.StructuredOutput, base.SamplesTags, base.ScoresEntities):
  """The paper's byte-level BiLSTM-CRF (`polyglot_ner.kinds.byte_crf.model`)."""

  module_class = model.ByteCRF
  label_fields = ("labels",)

  row_likelihood = ("a sentence; its log-likelihood: the linear-chain CRF's of its gold IOB2 "
                    "tags")

  def module_args(self) -> dict[str, Any]:
    return {"labels": self.label_map.tags}

  def _bucketing(self) -> dict[str, Any]:
    data = self.config.data
    return {"length_buckets": data.length_buckets, "byte_buckets": data.byte_buckets,
            "max_word_bytes": data.max_word_bytes}

  def train_batches(self, languages: Mapping[str, Sequence[conll.Sentence]], mixture: Any, *,
                    seed: int, num_shards: int) -> batches.WordTrainBatches:
    return batches.WordTrainBatches(
        languages, self.label_map, batch_size=self.config.batch_size, mixture=mixture, seed=seed,
        sort_window=self.config.data.sort_window, num_shards=num_shards, **self._bucketing())

  def eval_batches(self, sentences: Sequence[conll.Sentence], *, lang: int, batch_size: int,
                   num_shards: int, fitted: bool = False) -> batches.WordEvalBatches:
    """Fitted batches (`run.entities`') share one word table (`shared_batches`)."""
    return batches.WordEvalBatches(sentences, self.label_map, batch_size=batch_size, lang=lang,
                                   num_shards=num_shards, fitted=fitted, shared_table=fitted,
                                   **self._bucketing())

  def example_batch(self) -> dict[str, np.ndarray]:
    """One word of one byte per row."""
    return {"word_bytes": np.ones((1, 1), np.int32),
            "word_byte_lengths": np.ones((1,), np.int32),
            "pack_offsets": np.zeros((1,), np.int32),
            "pack_lengths": np.ones((1,), np.int32),
            "word_ids": np.zeros((1, 1), np.int32),
            "lengths": np.ones((1,), np.int32),
            "tags": np.zeros((1, 1), np.int32),
            "lang": np.zeros((1,), np.int32)}

  def loss(self, params: base.Params, batch: base.Batch, rng: jax.Array | None, *, train: bool
           ) -> tuple[jax.Array, jax.Array]:
    """The negative CRF log-likelihood of each sentence's gold tags."""
    rngs = {} if rng is None else {"dropout": rng}
    log_likelihood = self.module.apply({"params": params}, batch, train=train, rngs=rngs)
    return -log_likelihood, batch["lengths"] > 0

  def predict(self, params: base.Params, batch: base.Batch) -> jax.Array:
    """Viterbi tag ids [B, T] (0 past each length)."""
    tags, _ = self.module.apply({"params": params}, batch, method="decode")
    return tags

  def tags(self, data: batches.WordEvalBatches, predictions: Sequence[np.ndarray]
           ) -> list[list[str]]:
    return [self.label_map.decode(ids) for ids in self.per_sentence(data, predictions)]

  def per_sentence(self, data: batches.WordEvalBatches, outputs: Sequence[Any],
                   axis: int | None = 0) -> list[Any]:
    """Cut to each sentence's words."""
    return data.per_sentence(outputs, axis=axis)

  # The CRF's other outputs: pure functions of (params, batch), rows first.

  def _potentials(self, params: base.Params, batch: base.Batch) -> tuple[jax.Array, ...]:
    emissions = self.module.apply({"params": params}, batch, train=False, method="emissions")
    crf = params["crf"]
    return emissions, batch["lengths"], crf["transitions"], crf.get("start"), crf.get("end")

  def emissions(self, params: base.Params, batch: base.Batch) -> jax.Array:
    """Emission scores [B, T, C]."""
    return self._potentials(params, batch)[0]

  def marginals(self, params: base.Params, batch: base.Batch) -> jax.Array:
    """p(tag at t = c | sentence) [B, T, C] under the distribution training fits."""
    return crf_lib.marginals(*self._potentials(params, batch),
                             allowed=self.module.training_allowed)

  def kbest(self, params: base.Params, batch: base.Batch, k: int
            ) -> tuple[jax.Array, jax.Array]:
    """The k best tag paths [B, k, T] and their scores [B, k], constrained like decoding."""
    return crf_lib.kbest(*self._potentials(params, batch),
                         allowed=self.module.decoding_allowed, k=k)

  def sample(self, params: base.Params, batch: base.Batch, rng: jax.Array, num_samples: int
             ) -> jax.Array:
    """Tag paths [B, num_samples, T] drawn from the distribution training fits."""
    return crf_lib.sample(rng, *self._potentials(params, batch), num_samples=num_samples,
                          allowed=self.module.training_allowed)

  def predict_entities(self, params: base.Params, batch: base.Batch
                       ) -> tuple[jax.Array, jax.Array]:
    """`predict`'s Viterbi tag ids [B, T] and per word the log-probability of the entity ending
    there [B, T] (`crf.entity_log_marginals`)."""
    potentials = self._potentials(params, batch)
    tags, _ = crf_lib.viterbi(*potentials, allowed=self.module.decoding_allowed,
                              method=self.module.crf_method)
    return tags, crf_lib.entity_log_marginals(*potentials, tags=tags, labels=self.label_map.tags,
                                              allowed=self.module.decoding_allowed)

  def shared_batches(self, data: batches.WordEvalBatches) -> list[dict[str, np.ndarray]]:
    """The word tables of fitted batches: every distinct word of the call once."""
    return data.tables()

  def encode_shared(self, params: base.Params, batch: base.Batch) -> jax.Array:
    """A word table's vectors [U, D] (`ByteCRF.word_vectors`)."""
    return self.module.apply({"params": params}, batch, train=False, method="word_vectors")

  def with_shared(self, batch: dict[str, Any], encoded: np.ndarray) -> dict[str, Any]:
    """The batch with its table's word vectors in place of the table's word types."""
    rest = {key: value for key, value in batch.items() if key != "table_ids"}
    return {**rest, "word_vectors": encoded[batch["table_ids"]]}

  def entity_scores(self, data: batches.WordEvalBatches, outputs: Sequence[Any]
                    ) -> list[tuple[list[str], list[float]]]:
    """An entity's probability is the exact marginal, by forward-backward, of its tags (B-X I-X
    ...) and of the tag after it not being I-X, under the CRF restricted to the paths decoding
    chooses from (valid IOB2 unless `constrained_decoding` is off)."""
    return entities_lib.by_last_words(self, data, outputs)

  def with_tags(self, batch: base.Batch, tags: jax.Array) -> dict[str, Any]:
    """`batch` with other gold tags (e.g. sampled ones, for the true Fisher)."""
    return {**batch, "tags": jnp.asarray(tags, jnp.int32)}
