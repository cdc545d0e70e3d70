"""Byte-to-Span as a model kind: window batches, a seq2seq loss per window, greedy span decoding
stitched back into word tags (`polyglot_ner.kinds.bts.windows`, `polyglot_ner.kinds.bts.model`).

A row is a 60-byte window of a split's byte stream, not a sentence: `lengths` counts its bytes,
`EvalData.indices` gives each row's window (in stream order; -1 for padding rows), and a run's
per-window outputs go back to sentences through `per_sentence` (the windows that start in each
sentence; so a sentence has no log-likelihood of its own: `runs.Run.log_likelihood` takes a window
batch). The window size is `config.model.window`; test windows step by
`config.data.eval_stride` and their overlapping spans are resolved by `config.data.span_conflicts`
(`windows.SPAN_CONFLICTS`); `config.data.span_buckets` sets the padded numbers of target spans per
window.

`tags` stitches every window's spans into word IOB2 tags; `notes` counts the gold entities that no
test window holds whole (they can never be predicted), which `evaluate` and training's dev and test
scores report per language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

from polyglot_ner.data import conll
from polyglot_ner.kinds import base
from polyglot_ner.kinds.bts import model
from polyglot_ner.kinds.bts import windows


class Kind(base.Kind, base.ScoresEntities):
  """Byte-to-Span (`polyglot_ner.kinds.bts.model.ByteToSpan`) over the label map's entity types."""

  module_class = model.ByteToSpan
  label_fields = ("types",)
  windowed = True

  def module_args(self) -> dict[str, Any]:
    return {"types": self.label_map.types}

  @property
  def row_likelihood(self) -> str:
    return (f"a {self.module.window}-byte window of the split's byte stream, one every "
            f"{self.config.data.eval_stride} bytes; its log-likelihood: the teacher-forced "
            "decoder's of its gold span tokens (start, length, type, ..., STOP)")

  @property
  def vocabulary(self) -> windows.Vocabulary:
    """The decoder's tokens (from the label map's types and the window)."""
    return windows.Vocabulary(self.label_map.types, self.module.window)

  def train_batches(self, languages: Mapping[str, Sequence[conll.Sentence]], mixture: Any, *,
                    seed: int, num_shards: int) -> windows.WindowTrainBatches:
    return windows.WindowTrainBatches(
        languages, self.vocabulary, batch_size=self.config.batch_size, mixture=mixture, seed=seed,
        span_buckets=self.config.data.span_buckets, num_shards=num_shards)

  def eval_batches(self, sentences: Sequence[conll.Sentence], *, lang: int, batch_size: int,
                   num_shards: int, fitted: bool = False) -> windows.WindowEvalBatches:
    return windows.WindowEvalBatches(
        sentences, self.vocabulary, batch_size=batch_size, lang=lang,
        stride=self.config.data.eval_stride, span_buckets=self.config.data.span_buckets,
        num_shards=num_shards, fitted=fitted, conflicts=self.config.data.span_conflicts)

  def example_batch(self) -> dict[str, np.ndarray]:
    """One window of one byte, no spans."""
    return {"bytes": np.ones((1, self.module.window), np.int32),
            "lengths": np.ones((1,), np.int32),
            "lang": np.zeros((1,), np.int32),
            "targets": np.full((1, 1), windows.Vocabulary.STOP, np.int32),
            "target_lengths": np.ones((1,), np.int32)}

  def loss(self, params: base.Params, batch: base.Batch, rng: jax.Array | None, *, train: bool
           ) -> tuple[jax.Array, jax.Array]:
    """Each window's summed cross-entropy of its target tokens (teacher forced); the step averages
    it over the batch's windows, as the original's sum / batch size."""
    rngs = {} if rng is None else {"dropout": rng}
    loss = self.module.apply({"params": params}, batch, train=train, rngs=rngs)
    return loss, batch["lengths"] > 0

  def predict(self, params: base.Params, batch: base.Batch) -> tuple[jax.Array, jax.Array]:
    """Greedy token rows [B, 3 * max_spans + 1] (`windows.Vocabulary.spans` reads them) and each
    token's log-probability under the greedy decoder's step distribution (`model.Decoded`): the
    stitching weighs overlapping spans by it."""
    decoded = self.module.apply({"params": params}, batch, method="decode")
    return decoded.tokens, decoded.token_log_probs

  predict_entities = predict  # entity scores need nothing more (one program for both)

  def entity_scores(self, data: windows.WindowEvalBatches, outputs: Sequence[Any]
                    ) -> list[tuple[list[str], list[float]]]:
    """An entity's probability is the product of the decoder's probabilities of the (start,
    length, type) triple of the span it came from (`WindowEvalBatches.entity_scores`)."""
    return data.entity_scores(outputs)

  def tags(self, data: windows.WindowEvalBatches, predictions: Sequence[Any]
           ) -> list[list[str]]:
    return data.word_tags(predictions)

  def per_sentence(self, data: windows.WindowEvalBatches, outputs: Sequence[Any],
                   axis: int | None = 0) -> list[Any]:
    """Per sentence, the outputs of the windows that start in it (or in the space after it),
    stacked along a new first axis (none for a sentence no window starts in). Windows are not
    cut: `axis` does not apply to them."""
    del axis
    rows = np.concatenate([np.asarray(output)[indices >= 0]
                           for output, indices in zip(outputs, data.indices)])
    owner = np.searchsorted(data.stream.sentence_start, data.starts, side="right") - 1
    return [rows[owner == sentence] for sentence in range(len(data.stream.sentence_start))]

  def notes(self, sentences: Sequence[conll.Sentence]) -> dict[str, int]:
    """Gold entities of `sentences` (`entities`) that no test window holds whole:
    `entities_longer_than_window`, and `entities_in_no_window` (those included)."""
    return windows.unreachable_entities(windows.ByteStream(sentences), self.module.window,
                                            self.config.data.eval_stride)
