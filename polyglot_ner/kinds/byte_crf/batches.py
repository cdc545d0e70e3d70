"""The byte CRF's batches: sentences -> padded UTF-8 byte arrays of their words, in a few shapes.

Sentences are packed once into flat NumPy arrays (all words' bytes in one buffer, per-word offsets
and lengths, a word-type id per distinct truncated byte string, per-sentence offsets and lengths,
label ids); a batch is then a handful of vectorised gathers. Batches follow the "word-level
batches" contract: a dict of int32 arrays

  word_bytes [S*U, W], word_byte_lengths [S*U], pack_offsets [S*U], pack_lengths [S*R],
  word_ids [B, T], lengths [B], tags [B, T], lang [B]

Each batch carries a table of its distinct words, so that a byte encoder reads "de" once rather
than at every occurrence (and a word encoder projects its vector once) and padding word slots cost
nothing. The batch's B rows form `num_shards` (S) equal blocks (one per device of a data-parallel
mesh); each block has its own table of U rows (`word_bytes[s*U:(s+1)*U]`) and `word_ids` holds
indices into the row's own block's table, so a device that receives one block of every array
(sharding `P("data")`) holds a self-contained batch. Word slots past a sentence's length point at
an empty table entry (byte length 0), and table rows past the distinct words are empty too. U is a
Heaps' law bound on the distinct words of the block's word slots (`table_rows`), B is fixed, T
taken from `length_buckets` and W from `byte_buckets`, so `jit` sees only a few shapes.
`pack_offsets` and `pack_lengths` say how each block's table words lie side by side in R rows of W
bytes (`pack_words`), for a byte encoder that reads packed rows. Batches with a `shared_table`
(`run.entities`') hold `table_ids` [S*U] instead of the four table arrays: word types, rows of
the call's shared word tables (`PackedSentences.shared_tables`, the same four arrays over every
distinct word of the call), so that each word's bytes are encoded once per call. Lengths are
the source of truth; padding is 0 everywhere, and a last partial batch is filled with empty rows
(length 0). A process that packs only its part of a batch (its devices' blocks) knows T and W
from the lengths and longest words of all rows, but U and R only from its own blocks: zero rows
padded to the largest over the processes (`data.pipeline`) leave the batch as one process would
pack it.

`WordTrainBatches` and `WordEvalBatches` are the shared mixture batches
(`polyglot_ner.data.batches`) over these rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from polyglot_ner.data import batches
from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib

DEFAULT_LENGTH_BUCKETS = (8, 16, 32, 64, 128)
DEFAULT_BYTE_BUCKETS = (8, 16, 32, 64)
DEFAULT_MAX_WORD_BYTES = 64

# Packed byte rows per block: a batch's distinct words grow like its word slots S to the power 0.7
# (Heaps' law), and every CoNLL en / es / nl training batch (64 sentences, buckets 16 to 128 words,
# words cut to 16 bytes) fits 37 * S**0.7 bytes; a batch that needs more doubles its rows.
_PACKED_BYTES = (37.0, 0.7)
# Table rows per block, by the same law: every CoNLL en / es / nl batch (train, dev and test, 32 to
# 512 rows, words cut to 16 or 64 bytes) has at most 5.3 * S**0.7 distinct words, the empty one
# included; a batch that has more doubles its rows, up to S.
_TABLE_WORDS = (6.0, 0.7)
# A call's shared word tables (`PackedSentences.shared_tables`): words per block of one table (the
# byte encoder then holds about as much as for a batch of 512 CoNLL sentences), and at least as
# many packed bytes as a long CoNLL sentence's words, so that calls of a few sentences share one
# shape.
SHARED_TABLE_WORDS = 8192
_SHARED_MIN_BYTES = 1024


class PackedSentences:
  """Sentences flattened into arrays: a batch is a few fancy-indexing gathers away.

  Attributes (n = sentences, m = words): `word_bytes` uint8 (every word's UTF-8 bytes, the last
  byte a 0 for padding), `word_start` int64 [m + 1], `word_length` int32 [m + 1] (truncated to
  `max_word_bytes`), `word_type` int64 [m + 1] (equal for equal truncated bytes; the padding word
  has the largest), `type_word` int64 (a word of each type), `tags` int32 [m + 1] (the extra last
  word is an empty padding word), `sentence_start` int64 [n], `lengths` int32 [n] (truncated to
  `max_length` words), `lang` int32 [n], `longest_word` int32 [n] (bytes of each sentence's
  longest truncated word), `num_truncated` (sentences cut to `max_length`), `byte_buckets` (the
  word widths of a batch's table, `byte_buckets_for`).
  """

  def __init__(self, sentences: Sequence[conll.Sentence], label_map: labels_lib.LabelMap, *,
               lang: int | np.ndarray = 0, max_length: int | None = None,
               max_word_bytes: int = DEFAULT_MAX_WORD_BYTES,
               byte_buckets: Sequence[int] = DEFAULT_BYTE_BUCKETS):
    if max_word_bytes < 1:
      raise ValueError(f"max_word_bytes must be >= 1, got {max_word_bytes}")
    self.byte_buckets = byte_buckets_for(byte_buckets, max_word_bytes)
    full_lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    lengths = full_lengths if max_length is None else np.minimum(full_lengths, max_length)
    self.num_truncated = int(np.sum(lengths < full_lengths))
    if self.num_truncated:
      tokens = [t for s, n in zip(sentences, lengths) for t in s.tokens[:n]]
      tags = [t for s, n in zip(sentences, lengths) for t in s.tags[:n]]
    else:
      tokens = [t for s in sentences for t in s.tokens]
      tags = [t for s in sentences for t in s.tags]

    # One encode call for all words: NUL separators mark the word boundaries in the byte buffer.
    buffer = np.frombuffer(("\0".join(tokens) + "\0").encode("utf-8"), dtype=np.uint8)
    ends = np.flatnonzero(buffer == 0)
    if len(ends) != max(len(tokens), 1):
      raise ValueError("a token contains a NUL character, which cannot be encoded as a word")
    ends = ends[:len(tokens)]
    starts = np.concatenate([[0], ends + 1])[:len(tokens)]
    word_lengths = ends - starts
    if np.any(word_lengths == 0):
      sentence = np.searchsorted(np.cumsum(lengths), np.flatnonzero(word_lengths == 0)[0], "right")
      raise ValueError(f"sentence {sentence} contains an empty token")

    self.word_bytes = buffer  # its last byte (the final separator) doubles as the padding byte
    self.word_start = np.append(starts, len(buffer) - 1)
    self.word_length = np.append(np.minimum(word_lengths, max_word_bytes), 0).astype(np.int32)
    # Word types, numbered by first occurrence: distinct tokens first (a dict of str, cheap), then
    # distinct tokens whose truncated bytes are equal are merged.
    token_types: dict[str, int] = {}
    token_type = np.fromiter((token_types.setdefault(token, len(token_types)) for token in tokens),
                             dtype=np.int64, count=len(tokens))
    _, first = np.unique(token_type, return_index=True)  # ids 0.. all occur: first[id]
    types: dict[bytes, int] = {}
    merged = np.fromiter(
        (types.setdefault(buffer[start:start + length].tobytes(), len(types))
         for start, length in zip(starts[first], self.word_length[first])),
        dtype=np.int64, count=len(first))
    self.word_type = np.append(merged[token_type], len(types))
    _, self.type_word = np.unique(self.word_type, return_index=True)
    self.tags = np.append(label_map.encode(tags), 0).astype(np.int32)
    self.lengths = lengths.astype(np.int32)
    self.sentence_start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    self.lang = np.broadcast_to(np.asarray(lang, dtype=np.int32), lengths.shape).copy()
    self.max_word_bytes = max_word_bytes
    # Each sentence's longest (truncated) word in bytes: a batch's W without its words.
    self.longest_word = np.zeros(len(lengths), np.int32)
    np.maximum.at(self.longest_word, np.repeat(np.arange(len(lengths)), lengths),
                  self.word_length[:-1])

  # The table rows U and packed rows R of a part's blocks are its own (`batch`); processes
  # packing parts of one batch agree on the largest (`data.pipeline.Plan.agreed_rows`).
  agreed_rows = {"word_bytes": "U", "word_byte_lengths": "U", "pack_offsets": "U",
                 "pack_lengths": "R"}

  def __len__(self) -> int:
    return len(self.lengths)

  @property
  def pad_word(self) -> int:
    return len(self.word_length) - 1

  def batch(self, rows: np.ndarray, batch_size: int, length_buckets: Sequence[int],
            num_shards: int = 1, part: batches.Part = batches.WHOLE, shared_table: bool = False
            ) -> dict[str, np.ndarray]:
    """The padded batch of sentences `rows` (at most `batch_size`; the rest are empty rows), its
    rows in `num_shards` blocks with a word table each; only the rows of `part`, with the whole
    batch's T and W but their own blocks' U and R (`agreed_rows`); `shared_table`: the tables
    hold word types (`table_ids`, rows of `shared_tables`) instead of their bytes."""
    lengths, lang, starts, longest = batches.padded_rows(self, rows, batch_size, num_shards, part)
    positions = np.arange(batches.bucket_for(longest, length_buckets))
    words = np.where(positions < lengths[:, None], starts[:, None] + positions, self.pad_word)
    # Per block: its distinct word types (the padding type, the largest, sorts last) and ids.
    blocks = self.word_type[words].reshape(num_shards // part[1], -1)
    distinct, word_ids = zip(*(np.unique(block, return_inverse=True) for block in blocks))
    table = table_rows(blocks.shape[1], max(map(len, distinct)))
    table_types = np.full((len(blocks), table), self.word_type[self.pad_word])
    for block, types in enumerate(distinct):
      table_types[block, :len(types)] = types
    word_ids = np.stack(word_ids).reshape(words.shape).astype(np.int32)
    if shared_table:
      words_and_table = {"table_ids": table_types.reshape(-1).astype(np.int32),
                         "word_ids": word_ids}
    else:
      width = batches.bucket_for(int(self.longest_word[rows].max(initial=0)), self.byte_buckets)
      words_and_table = {**self.table(table_types.reshape(-1), len(blocks), width,
                                      packed_rows(blocks.shape[1], width)),
                         "word_ids": word_ids}
    return {
        **words_and_table,
        "lengths": lengths,
        "tags": self.tags[words],
        "lang": lang,
    }

  def table(self, types: np.ndarray, num_shards: int, width: int, min_rows: int,
            per_octave: int = 1) -> dict[str, np.ndarray]:
    """The byte arrays of a word table holding `types` [S*U] (`num_shards` blocks), packed into
    rows of `width` bytes (`pack_words` with its `min_rows` and `per_octave`)."""
    table_words = self.type_word[types]
    word_lengths = self.word_length[table_words]
    offsets = np.arange(width)
    byte_index = np.where(offsets < word_lengths[:, None],
                          self.word_start[table_words][:, None] + offsets, len(self.word_bytes) - 1)
    pack_offsets, pack_lengths = pack_words(word_lengths, width, num_shards, min_rows, per_octave)
    return {"word_bytes": self.word_bytes[byte_index].astype(np.int32),
            "word_byte_lengths": word_lengths,
            "pack_offsets": pack_offsets,
            "pack_lengths": pack_lengths}

  def shared_tables(self, num_shards: int) -> list[dict[str, np.ndarray]]:
    """Every word type (the padding type, the largest, included) as word tables of at most
    `SHARED_TABLE_WORDS` words per block: row t of their concatenation is type t, which a
    `shared_table` batch's `table_ids` name. Their shapes come from few sizes (table words a
    power of two, packed rows a quarter-octave step), so that calls of similar size share them."""
    count = int(self.word_type[self.pad_word]) + 1
    per_block = -(-count // num_shards)
    chunks = 2 ** (-(-per_block // SHARED_TABLE_WORDS) - 1).bit_length()
    words = max(8, 2 ** (-(-per_block // chunks) - 1).bit_length())
    types = np.minimum(np.arange(chunks * num_shards * words), count - 1)
    tables = []
    for chunk in np.split(types, chunks):
      width = batches.bucket_for(int(self.word_length[self.type_word[chunk]].max()),
                                 self.byte_buckets)
      tables.append(self.table(chunk, num_shards, width, max(8, _SHARED_MIN_BYTES // width),
                               per_octave=4))
    return tables

def table_rows(slots: int, distinct: int) -> int:
  """The rows of a block's word table for `slots` word slots of which `distinct` (its most in any
  block) are distinct: the Heaps' law bound (a multiple of 8, one shape per length bucket for
  nearly every batch), doubled until they fit, at most `slots`."""
  scale, power = _TABLE_WORDS
  rows = 8 * math.ceil(scale * slots**power / 8)
  while rows < distinct:
    rows *= 2
  return min(rows, slots)

def packed_rows(slots: int, width: int) -> int:
  """The rows of `width` bytes a block of `slots` word slots packs its distinct words into (a
  multiple of 8); one shape per length bucket for nearly every batch, with little padding."""
  scale, power = _PACKED_BYTES
  return 8 * math.ceil(scale * slots**power / width / 8)

def pack_words(word_lengths: np.ndarray, width: int, num_shards: int = 1, min_rows: int = 8,
               per_octave: int = 1) -> tuple[np.ndarray, np.ndarray]:
  """Where each table word goes when a block's words are packed side by side into rows of
  `width` bytes: `pack_offsets` [S*U] (row * width + column of its first byte, within its block)
  and `pack_lengths` [S*R] (bytes used per row; R per block is `min_rows` doubled until the
  words fit, so that a length bucket nearly always compiles to one shape, then lowered to the
  fewest of `per_octave` equal steps of the last doubling that still fit).

  A byte encoder that restarts its state at every word reads the packed rows instead of one
  padded row per word: CoNLL words average 7 bytes, so a 16-byte table is mostly padding. Rows
  are filled largest word first, then topped up with the smallest ones (near-optimal here).
  """
  blocks = np.asarray(word_lengths).reshape(num_shards, -1)
  offsets = np.zeros(blocks.shape, np.int32)
  rows_per_block = []
  for block, lengths in enumerate(blocks):
    # Plain Python ints in the loop: it runs once per distinct word of every training batch.
    sizes = lengths.tolist()
    words_here = np.flatnonzero(lengths)
    order = words_here[np.argsort(-lengths[words_here], kind="stable")].tolist()
    words, starts, rows, low, high = [], [], [], 0, len(order) - 1
    while low <= high:
      base, used = len(rows) * width, sizes[order[low]]
      words.append(order[low])
      starts.append(base)
      low += 1
      while low <= high and used + sizes[order[high]] <= width:
        words.append(order[high])
        starts.append(base + used)
        used += sizes[order[high]]
        high -= 1
      rows.append(used)
    offsets[block, words] = starts
    rows_per_block.append(rows)
  needed, num_rows = max(map(len, rows_per_block)), min_rows
  while num_rows < needed:
    num_rows *= 2
  if num_rows > min_rows:
    step = max(num_rows // (2 * per_octave), 1)
    num_rows = step * -(-needed // step)
  pack_lengths = np.zeros((num_shards, num_rows), np.int32)
  for block, rows in enumerate(rows_per_block):
    pack_lengths[block, :len(rows)] = rows
  return offsets.reshape(-1), pack_lengths.reshape(-1)

def byte_buckets_for(byte_buckets: Sequence[int], max_word_bytes: int) -> tuple[int, ...]:
  """Byte buckets below `max_word_bytes`, capped by `max_word_bytes` itself."""
  buckets = batches.normalise_buckets(byte_buckets, "byte_buckets")
  return tuple(b for b in buckets if b < max_word_bytes) + (max_word_bytes,)

class WordTrainBatches(batches.TrainBatches):
  """`batches.TrainBatches` over word-level rows (`PackedSentences`); `length_buckets` count words
  and `packing` is `max_word_bytes` and `byte_buckets`."""

  packer = PackedSentences
  default_length_buckets = DEFAULT_LENGTH_BUCKETS
  length_unit = "words"


class WordEvalBatches(batches.EvalBatches):
  """`batches.EvalBatches` over word-level rows (`PackedSentences`). With `shared_table` the
  batches name word types (`table_ids`) of the word tables `tables` gives, one set for all the
  batches: a byte encoder then reads each distinct word of the sentences once, not once per batch
  that holds it."""

  packer = PackedSentences
  default_length_buckets = DEFAULT_LENGTH_BUCKETS

  def __init__(self, *args: Any, shared_table: bool = False, **kwargs: Any):
    super().__init__(*args, **kwargs)
    self.shared_table = shared_table

  def tables(self) -> list[dict[str, np.ndarray]]:
    """The shared word tables (`PackedSentences.shared_tables`); none without `shared_table`."""
    return self.packed.shared_tables(self.num_shards) if self.shared_table else []

  def pack(self, rows: np.ndarray, size: int) -> dict[str, np.ndarray]:
    return self.packed.batch(rows, size, self.length_buckets, self.num_shards,
                             shared_table=self.shared_table)
