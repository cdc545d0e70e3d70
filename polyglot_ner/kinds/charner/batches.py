"""Byte-level batches for CharNER: each sentence one row of UTF-8 bytes, one class per byte.

A sentence is the byte stream of `byte_stream.sentence_bytes` (words joined by one space) and its
per-byte entity types (research-notes §2.2). A batch is a dict of int32 arrays

  bytes [B, L]    byte values (0 past each row's length)
  labels [B, L]   per-byte class ids: 0 = O, 1 + i = `label_map.types[i]` (`byte_classes`)
  kinds [B, L]    what each byte is: WORD_START, INSIDE (a word's later bytes), SPACE, or PAD past
                  the length; word k of a row starts at its k-th WORD_START byte, which is all the
                  decoder needs to go back to words
  lengths [B]     bytes per row (0 for a row padding a last partial batch)
  lang [B]        the row's language index

L is one of a few byte-length buckets, so `jit` compiles a handful of programs. The batch's rows
split into `num_shards` equal blocks along B, as word-level batches do.

`ByteTrainBatches` is `batches.TrainBatches` (language mixture, seeded epoch plans sorted by length
within windows, served by `data/pipeline.py`) with `PackedBytes` as its packer instead of word tables: only the
packing differs. It truncates sentences longer than the largest bucket (and reports how many).
`ByteEvalBatches` is `batches.EvalBatches` with the same packer and never truncates: it adds a
bucket that covers the longest sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from polyglot_ner.data import batches
from polyglot_ner.data import byte_stream
from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import tags as tags_lib

# Sentence lengths in bytes: CoNLL en has none over 512, es 19 of 8,323 training sentences.
DEFAULT_LENGTH_BUCKETS = (32, 64, 128, 256, 512)

# Byte kinds (`kinds` of a batch).
PAD, WORD_START, INSIDE, SPACE = 0, 1, 2, 3

_SPACE_BYTE = ord(" ")


def byte_classes(label_map: labels_lib.LabelMap) -> tuple[str, ...]:
  """The per-byte classes of a run: "O", then the label map's entity types (sorted).

  Class t >= 1 is the type of the label map's tags `B-` (id 2t - 1) and `I-` (id 2t).
  """
  return (tags_lib.OUTSIDE,) + label_map.types


def _byte_kinds(stream: np.ndarray, sentence_start: np.ndarray) -> np.ndarray:
  """WORD_START / INSIDE / SPACE of each byte of sentences' streams laid end to end."""
  space = stream == _SPACE_BYTE
  word_start = np.zeros_like(space)
  word_start[1:] = space[:-1]
  word_start[sentence_start[sentence_start < len(stream)]] = True
  return np.where(space, SPACE, np.where(word_start, WORD_START, INSIDE)).astype(np.int8)


class PackedBytes:
  """Sentences as one flat byte buffer, so that a batch is a few vectorised gathers.

  Attributes (n = sentences): `bytes` uint8, `labels` int32 and `kinds` int8 over all sentences'
  bytes plus one padding byte at the end (value 0, class O, kind PAD), `sentence_start` int64 [n],
  `lengths` int32 [n] (cut to `max_length` bytes), `num_words` int32 [n] (whole sentences, to
  cut a row's word tags), `lang` int32 [n], `num_truncated` (sentences cut). The packer of
  `ByteTrainBatches` and `ByteEvalBatches` (`batches.TrainBatches`' packing hook).
  """

  def __init__(self, sentences: Sequence[conll.Sentence], label_map: labels_lib.LabelMap, *,
               lang: int | np.ndarray = 0, max_length: int | None = None):
    # Tags the label map lacks, or that are not IOB2, fail here with the label map's own message.
    label_map.encode([tag for sentence in sentences for tag in sentence.tags])
    streams, names = zip(*map(byte_stream.sentence_bytes, sentences)) if sentences else ((), ())
    full_lengths = np.fromiter(map(len, streams), dtype=np.int64, count=len(streams))
    lengths = full_lengths if max_length is None else np.minimum(full_lengths, max_length)
    self.num_truncated = int(np.sum(lengths < full_lengths))
    self.sentence_start = np.concatenate([[0], np.cumsum(full_lengths)[:-1]]).astype(np.int64)
    stream = np.concatenate([np.zeros(0, np.uint8), *streams]).astype(np.uint8)
    # Class ids by lookup in the sorted class names (a vectorised string -> id map).
    classes = byte_classes(label_map)
    order = np.argsort(classes)
    names_flat = np.concatenate([np.zeros(0, str), *names])
    labels = order[np.searchsorted(np.asarray(classes)[order], names_flat)]
    self.bytes = np.append(stream, 0)
    self.labels = np.append(labels, 0).astype(np.int32)
    self.kinds = np.append(_byte_kinds(stream, self.sentence_start), PAD).astype(np.int8)
    self.lengths = lengths.astype(np.int32)
    self.num_words = np.fromiter(map(len, sentences), dtype=np.int32, count=len(sentences))
    self.lang = np.broadcast_to(np.asarray(lang, dtype=np.int32), lengths.shape).copy()

  def __len__(self) -> int:
    return len(self.lengths)

  def batch(self, rows: np.ndarray, batch_size: int, length_buckets: Sequence[int],
            num_shards: int = 1, part: batches.Part = batches.WHOLE) -> dict[str, np.ndarray]:
    """The padded batch of sentences `rows` (at most `batch_size`; the rest are empty rows), or
    its rows of `part` (`batches.part_rows`); `length_buckets` are in bytes."""
    lengths, lang, starts, longest = batches.padded_rows(self, rows, batch_size, num_shards, part)
    positions = np.arange(batches.bucket_for(longest, length_buckets))
    index = np.where(positions < lengths[:, None], starts[:, None] + positions, len(self.bytes) - 1)
    return {"bytes": self.bytes[index].astype(np.int32),
            "labels": self.labels[index].astype(np.int32),
            "kinds": self.kinds[index].astype(np.int32),
            "lengths": lengths,
            "lang": lang}


class ByteTrainBatches(batches.TrainBatches):
  """`batches.TrainBatches` over byte rows (`PackedBytes`): the same mixture, epoch plans, sort
  windows and shuffle; `length_buckets` are in bytes and longer sentences are truncated
  (`num_truncated`)."""

  packer = PackedBytes
  default_length_buckets = DEFAULT_LENGTH_BUCKETS
  length_unit = "bytes"


class ByteEvalBatches(batches.EvalBatches):
  """`batches.EvalBatches` over byte rows: every sentence of one language exactly once, in a fixed
  length-sorted order, never truncated (a bucket of a multiple of the largest one covers the
  longest sentence); `packed.num_words` cuts a row's word tags."""

  packer = PackedBytes
  default_length_buckets = DEFAULT_LENGTH_BUCKETS
