"""Per-example inputs of the importance for any model kind: one-row batches, stacked in chunks.

The importance (`importance.Model`) takes a loss of ONE example under `jax.vmap(jax.grad(...))`.
A kind's batches hold what a row needs, but not always per row: the byte CRF's batches
share one word table per block of rows. The seam's contract says every array of a batch splits
along its leading axis over the devices (`polyglot_ner.kinds.base`), so a batch of B rows built
with `num_shards` = B has B blocks of one row each, every block self-contained. Reshaping every
array [B*X, ...] -> [B, X, ...] then gives B stacked one-row batches, whatever the kind's keys.
Padding rows (`lengths` 0) are dropped.

Rows of one batch share their shapes (the batch's length and byte buckets); rows of different
batches may not. Consecutive examples of equal shapes are grouped into chunks of at most
`chunk_size` examples, so that the estimator compiles one program per shape and its memory (the
chunk's per-example gradients) stays bounded.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np

from polyglot_ner import errors
from polyglot_ner.analysis import importance as importance_lib
from polyglot_ner.data import conll
from polyglot_ner.kinds import base as kinds_base

DEFAULT_CHUNK_SIZE = 32


def rows(batch: kinds_base.Batch) -> dict[str, np.ndarray]:
  """A batch built with one shard per row as B stacked one-row batches: [B*X, ...] -> [B, X, ...],
  padding rows (`lengths` 0) dropped."""
  size = len(batch["lengths"])
  stacked = {}
  for key, value in batch.items():
    value = np.asarray(value)
    if len(value) % size:
      raise ValueError(f"batch array {key!r} of {len(value)} rows does not split into {size} "
                       "one-row blocks: was the batch built with num_shards = batch size?")
    stacked[key] = value.reshape(size, len(value) // size, *value.shape[1:])
  real = np.asarray(batch["lengths"]) > 0
  return {key: value[real] for key, value in stacked.items()}


def _signature(tree: dict[str, np.ndarray]) -> tuple[Any, ...]:
  return tuple((key, value.shape[1:], value.dtype.str) for key, value in sorted(tree.items()))


class Examples:
  """The examples of some sentences for one model kind, as chunks (re-iterable, packed once).

  Iterating yields dicts of arrays [n, ...] (n <= `chunk_size` one-row batches of equal shapes).
  `len()` is the number of sentences, `num_examples` that of examples: an example is a row of the
  kind's batches (`Kind.row_likelihood`), a sentence for the byte CRF and CharNER, a window of the
  byte stream for Byte-to-Span.
  """

  def __init__(self, kind: kinds_base.Kind, sentences: Sequence[conll.Sentence], *, lang: int,
               chunk_size: int = DEFAULT_CHUNK_SIZE):
    if chunk_size < 1:
      raise errors.UserError(f"the chunk size of per-example gradients must be >= 1, got "
                             f"{chunk_size}")
    self.chunk_size = chunk_size
    self._count = len(sentences)
    self._batches = kind.eval_batches(list(sentences), lang=lang, batch_size=chunk_size,
                                      num_shards=chunk_size)
    self.num_examples = sum(int(np.count_nonzero(np.asarray(rows) >= 0))
                            for rows in self._batches.indices)

  def __len__(self) -> int:
    return self._count

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    pending: list[dict[str, np.ndarray]] = []
    signature = None
    for batch in self._batches:
      examples = rows(batch)
      if _signature(examples) != signature:
        yield from self._flush(pending, everything=True)
        signature = _signature(examples)
      pending.append(examples)
      yield from self._flush(pending, everything=False)
    yield from self._flush(pending, everything=True)

  def _flush(self, pending: list[dict[str, np.ndarray]], everything: bool
             ) -> Iterator[dict[str, np.ndarray]]:
    """Chunks of `pending` (same shapes): all of them, or only full ones (the rest stays)."""
    if not pending:
      return
    joined = {key: np.concatenate([p[key] for p in pending]) for key in pending[0]}
    total = len(joined["lengths"])
    end = total if everything else total - total % self.chunk_size
    for start in range(0, end, self.chunk_size):
      yield {key: value[start:min(start + self.chunk_size, end)] for key, value in joined.items()}
    pending.clear()
    if end < total:
      pending.append({key: value[end:] for key, value in joined.items()})


def model(kind: kinds_base.Kind, params: Any) -> importance_lib.Model:
  """The importance's view of a kind: its per-example gold loss (no dropout) and, for kinds that
  sample their tags (`kinds.base.SamplesTags`, e.g. the byte CRF), labels drawn from the model.

  The example's loss is the kind's row loss times its weight (`Kind.loss`): the negative
  log-likelihood of the whole example whether the kind reports it as is (the byte CRF, weight 1)
  or as a mean per byte (CharNER, weight its bytes). Both are module functions applied to the
  kind, so that the estimators of equal kinds share their program (`train.step.function_key`).
  """
  if not isinstance(kind, kinds_base.SamplesTags):
    return importance_lib.Model(params, functools.partial(_example_loss, kind))
  return importance_lib.Model(params, functools.partial(_example_loss, kind),
                              functools.partial(_sample_labels, kind))


def _example_loss(kind: kinds_base.Kind, params: Any, example: kinds_base.Batch, rng: jax.Array
                  ) -> jax.Array:
  del rng  # evaluation mode: the loss is deterministic
  loss, weight = kind.loss(params, example, None, train=False)
  return loss[0] * weight[0].astype(loss.dtype)


def _sample_labels(kind: kinds_base.Kind, params: Any, example: kinds_base.Batch, rng: jax.Array
                   ) -> kinds_base.Batch:
  return kind.with_tags(example, kind.sample(params, example, rng, 1)[:, 0])


def subset(sentences: Sequence[conll.Sentence], max_sentences: int | None, seed: int = 0
           ) -> list[conll.Sentence]:
  """At most `max_sentences` of `sentences` (None or 0: all): a seeded uniform sample, in order."""
  if max_sentences is not None and max_sentences < 0:
    raise errors.UserError(f"max_sentences must be positive, got {max_sentences}")
  sentences = list(sentences)
  if not max_sentences or len(sentences) <= max_sentences:
    return sentences
  keep = np.sort(np.random.default_rng(seed).choice(len(sentences), max_sentences, replace=False))
  return [sentences[i] for i in keep]
