"""CharNER's decoding: per-byte class scores -> word-consistent byte labels -> word IOB2 tags.

The paper's decoder (research-notes §2.2) is a Viterbi over bytes whose transitions are 0 or -inf
by the kinds of the two bytes (`batches.WORD_START`, `INSIDE`, `SPACE`): after a space, stay
or leave O for any label; into a space, stay or move to O; otherwise stay. So a label is constant
inside a word, a space is O or continues the previous word's label, and a word after a non-O space
carries that label.

Because a word's bytes share one label, a path's score is a sum over words: the word's bytes'
scores under its label c_i, plus the score of the space before it under its label s_i, where s_i
is O, or c_{i-1} and then c_i = s_i. `viterbi` maximises exactly that (the byte Viterbi's maximum,
ties aside) with a recursion over words that costs O(C) per word rather than O(C^2) per byte:

  best_i(c) = words_i(c) + max(max_a best_{i-1}(a) + space_i(O), best_{i-1}(c) + space_i(c))

batched, by lengths, in one `lax.scan` under `jit`. Scoring: the paper adds softmax
*probabilities* along the path (`scoring="prob"`, for fidelity); the default adds
log-probabilities (`"log_prob"`), the most probable path under the per-byte independent model.
A word's IOB2 tag comes from its first byte's label X and the space before it (`word_tags`): O if
X is O, `I-X` if that space is labelled X, else `B-X` (`B-X` for a sentence's first word).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from polyglot_ner.kinds.charner import batches

SCORINGS = ("log_prob", "prob")


def byte_scores(logits: jax.Array, scoring: str = "log_prob") -> jax.Array:
  """Per-byte scores [B, L, C] float32 that a path adds: log-probabilities or probabilities."""
  logits = jnp.asarray(logits, jnp.float32)
  if scoring == "log_prob":
    return jax.nn.log_softmax(logits, axis=-1)
  if scoring == "prob":
    return jax.nn.softmax(logits, axis=-1)
  raise ValueError(f"unknown scoring {scoring!r}; expected one of {SCORINGS}")


def max_words(steps: int) -> int:
  """The most words `steps` bytes can hold (one-byte words between single spaces)."""
  return (steps + 1) // 2


def _per_word(scores: jax.Array, lengths: jax.Array, kinds: jax.Array) -> tuple[jax.Array, ...]:
  """Byte kinds (PAD past each length), each byte's word (a space: the word before it), and per
  word [B, words, C]: its bytes' summed `scores` and the scores of the space before it (0 for a
  row's first word); the words of each row [B]."""
  batch, steps, num_classes = scores.shape
  num_words = max_words(steps)
  real = jnp.arange(steps)[None, :] < jnp.asarray(lengths)[:, None]
  kinds = jnp.where(real, jnp.asarray(kinds), batches.PAD)
  space = kinds == batches.SPACE
  in_word = (kinds == batches.WORD_START) | (kinds == batches.INSIDE)
  word = jnp.cumsum(kinds == batches.WORD_START, axis=1) - 1
  rows = jnp.broadcast_to(jnp.arange(batch)[:, None], word.shape)
  word_scores = jnp.zeros((batch, num_words, num_classes), jnp.float32).at[
      rows, jnp.where(in_word, word, num_words)].add(scores, mode="drop")
  space_scores = jnp.zeros((batch, num_words, num_classes), jnp.float32).at[
      rows, jnp.where(space, word + 1, num_words)].set(scores, mode="drop")
  return kinds, word, word_scores, space_scores, jnp.sum(kinds == batches.WORD_START, axis=1)


def word_emissions(logits: jax.Array, lengths: jax.Array, kinds: jax.Array
                   ) -> tuple[jax.Array, jax.Array]:
  """The word-consistent byte labellings as a linear-chain CRF over words: emissions
  [B, words, 2C - 1] in the label map's IOB2 order and the words of each row [B].

  A word is O (its bytes and the space before it O), B-X (its bytes X, the space before it O) or
  I-X (both X); its emission is those bytes' log-probabilities. With zero transitions under the
  IOB2 constraints (I-X only after B-X or I-X, never first), a tag path's score is the
  log-probability of exactly one word-consistent byte labelling, and every such labelling has
  one path: the CRF's distribution is the per-byte model renormalised over them, its Viterbi
  path `viterbi`'s under "log_prob" and its marginals exact.
  """
  _, _, word_scores, space_scores, words_per_row = _per_word(
      byte_scores(logits, "log_prob"), lengths, kinds)
  outside = word_scores[..., :1] + space_scores[..., :1]
  begin = word_scores[..., 1:] + space_scores[..., :1]
  inside = word_scores[..., 1:] + space_scores[..., 1:]
  tags = jnp.stack([begin, inside], axis=-1).reshape(*begin.shape[:-1], -1)
  return jnp.concatenate([outside, tags], axis=-1), words_per_row


def viterbi(logits: jax.Array, lengths: jax.Array, kinds: jax.Array, *,
            scoring: str = "log_prob") -> tuple[jax.Array, jax.Array]:
  """The best word-consistent byte labels [B, L] int32 (0 past each length) and their scores [B]
  (0 for an empty row).

  `logits` [B, L, C] per-byte class scores, `lengths` [B], `kinds` [B, L] (`batches`
  kinds; ignored past each length). `scoring` as `byte_scores`.
  """
  scores = byte_scores(logits, scoring)
  batch, steps, num_classes = scores.shape
  num_words = max_words(steps)
  kinds, word, word_scores, space_scores, words_per_row = _per_word(scores, lengths, kinds)
  space = kinds == batches.SPACE
  in_word = (kinds == batches.WORD_START) | (kinds == batches.INSIDE)
  classes = jnp.arange(num_classes, dtype=jnp.int32)

  def step(best, xs):
    words_i, space_i, alive = xs
    via_outside = jnp.max(best, axis=-1, keepdims=True) + space_i[:, :1]
    via_same = best + space_i  # the space carries the word's class (for O: an O space too)
    same = via_same > via_outside
    new = jnp.where(same, via_same, via_outside) + words_i
    previous = jnp.where(same, classes, jnp.argmax(best, axis=-1)[:, None].astype(jnp.int32))
    space_label = jnp.where(same, classes, 0)
    keep = alive[:, None]
    return (jnp.where(keep, new, best),
            (jnp.where(keep, previous, classes), jnp.where(keep, space_label, 0)))

  later = (jnp.swapaxes(word_scores[:, 1:], 0, 1), jnp.swapaxes(space_scores[:, 1:], 0, 1),
           (jnp.arange(1, num_words)[:, None] < words_per_row[None, :]))
  best, (previous, space_label) = jax.lax.scan(step, word_scores[:, 0], later)

  def back(label, xs):
    previous_i, space_label_i = xs
    def pick(x):
      return jnp.take_along_axis(x, label[:, None], axis=1)[:, 0]
    return pick(previous_i), (label, pick(space_label_i))

  first, (later_labels, later_spaces) = jax.lax.scan(
      back, jnp.argmax(best, axis=-1).astype(jnp.int32), (previous, space_label), reverse=True)
  word_labels = jnp.concatenate([first[:, None], later_labels.T], axis=1)
  space_labels = jnp.concatenate([jnp.zeros((batch, 1), jnp.int32), later_spaces.T], axis=1)
  labels = jnp.where(
      in_word, jnp.take_along_axis(word_labels, jnp.clip(word, 0, num_words - 1), axis=1),
      jnp.where(space, jnp.take_along_axis(space_labels, jnp.clip(word + 1, 0, num_words - 1),
                                           axis=1), 0))
  return labels, jnp.where(jnp.asarray(lengths) > 0, jnp.max(best, axis=-1), 0.0)


def decode_words(logits: jax.Array, lengths: jax.Array, kinds: jax.Array, *,
                 scoring: str = "log_prob") -> tuple[jax.Array, jax.Array]:
  """Word IOB2 tag ids [B, (L + 1) // 2] of the best word-consistent path (`viterbi`,
  `word_tags`) and its score [B]."""
  labels, scores = viterbi(logits, lengths, kinds, scoring=scoring)
  return word_tags(labels, kinds), scores


def word_tags(labels: jax.Array, kinds: jax.Array) -> jax.Array:
  """Word IOB2 tag ids [B, (L + 1) // 2] (0 past each row's words) from byte labels [B, L].

  Ids follow `labels.LabelMap`: O = 0, `B-` of class t = 2t - 1, `I-` of class t = 2t (class t
  is `batches.byte_classes(label_map)[t]`). Word k is the row's k-th WORD_START byte.
  """
  labels = jnp.asarray(labels, jnp.int32)
  starts = jnp.asarray(kinds) == batches.WORD_START
  before = jnp.pad(labels[:, :-1], ((0, 0), (1, 0)))  # O before a row's first byte
  tags = jnp.where(labels == 0, 0, jnp.where(before == labels, 2 * labels, 2 * labels - 1))
  num_words = max_words(labels.shape[1])
  word = jnp.where(starts, jnp.cumsum(starts, axis=1) - 1, num_words)
  rows = jnp.broadcast_to(jnp.arange(labels.shape[0])[:, None], word.shape)
  return jnp.zeros((labels.shape[0], num_words), jnp.int32).at[rows, word].set(tags, mode="drop")
