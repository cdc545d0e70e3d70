"""Tensorization and batches: sentences -> padded UTF-8 byte arrays in a few static shapes.

Sentences are packed once into flat NumPy arrays (all words' bytes in one buffer, per-word offsets
and lengths, a word-type id per distinct truncated byte string, per-sentence offsets and lengths,
label ids); a batch is then a handful of vectorised gathers. Batches follow the "word-level
batches" contract: a dict of int32 arrays

  word_bytes [S*U, W], word_byte_lengths [S*U], pack_offsets [S*U], pack_lengths [S*R],
  word_ids [B, T], lengths [B], tags [B, T], lang [B]

Each batch carries a table of its distinct words, so that a byte encoder reads "de" once rather
than at every occurrence and padding word slots cost nothing. The batch's B rows form `num_shards`
(S) equal blocks (one per device of a data-parallel mesh); each block has its own table of U rows
(`word_bytes[s*U:(s+1)*U]`) and `word_ids` holds indices into the row's own block's table, so a
device that receives one block of every array (sharding `P("data")`) holds a self-contained batch.
Word slots past a sentence's length point at an empty table entry (byte length 0), and table rows
past the distinct words are empty too. U is the block's number of word slots, B is fixed, T taken
from `length_buckets` and W from `byte_buckets`, so `jit` sees only a few shapes. `pack_offsets`
and `pack_lengths` say how each block's table words lie side by side in R rows of W bytes
(`pack_words`), for a byte encoder that reads packed rows. Lengths are the source of truth;
padding is 0 everywhere, and a last partial batch is filled with empty rows (length 0).

`TrainBatches` walks a language mixture epoch by epoch: the mixture's seeded order (see
`mixture.py`) is cut into windows of `sort_window` batches, sorted by length inside each window to
limit padding, cut into batches, and the batches are shuffled. Every epoch's plan is a pure function
of (seed, epoch), so `get_state()` is just (epoch, position) and `set_state()` is O(epoch).
Training truncates sentences longer than the largest length bucket (and reports how many);
`EvalBatches` never truncates sentences: it adds a bucket that covers the longest one.

`sentence_bytes` turns a sentence into the single byte stream that CharNER and BTS read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from absl import logging
import numpy as np

from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import mixture as mixture_lib

DEFAULT_LENGTH_BUCKETS = (8, 16, 32, 64, 128)
DEFAULT_BYTE_BUCKETS = (8, 16, 32, 64)
DEFAULT_MAX_WORD_BYTES = 64
DEFAULT_SORT_WINDOW = 64  # batches per window sorted by length

# Packed byte rows per block: a batch's distinct words grow like its word slots S to the power 0.7
# (Heaps' law), and every CoNLL en / es / nl training batch (64 sentences, buckets 16 to 128 words,
# words cut to 16 bytes) fits 37 * S**0.7 bytes; a batch that needs more doubles its rows.
_PACKED_BYTES = (37.0, 0.7)

# Seed stream of the batch shuffle; mixture.py uses 0 and 1 for its own streams.
_BATCH_ORDER_STREAM = 2


class PackedSentences:
  """Sentences flattened into arrays: a batch is a few fancy-indexing gathers away.

  Attributes (n = sentences, m = words): `word_bytes` uint8 (every word's UTF-8 bytes, the last
  byte a 0 for padding), `word_start` int64 [m + 1], `word_length` int32 [m + 1] (truncated to
  `max_word_bytes`), `word_type` int64 [m + 1] (equal for equal truncated bytes; the padding word
  has the largest), `type_word` int64 (a word of each type), `tags` int32 [m + 1] (the extra last
  word is an empty padding word), `sentence_start` int64 [n], `lengths` int32 [n] (truncated to
  `max_length` words), `lang` int32 [n], `num_truncated` (sentences cut to `max_length`),
  `byte_buckets` (the word widths of a batch's table, `byte_buckets_for`).
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

  def __len__(self) -> int:
    return len(self.lengths)

  @property
  def pad_word(self) -> int:
    return len(self.word_length) - 1

  def batch(self, rows: np.ndarray, batch_size: int, length_buckets: Sequence[int],
            num_shards: int = 1) -> dict[str, np.ndarray]:
    """The padded batch of sentences `rows` (at most `batch_size`; the rest are empty rows), its
    rows in `num_shards` blocks with a word table each."""
    if len(rows) > batch_size:
      raise ValueError(f"{len(rows)} sentences do not fit a batch of {batch_size}")
    check_num_shards(batch_size, num_shards)
    lengths = np.zeros(batch_size, dtype=np.int32)
    lengths[:len(rows)] = self.lengths[rows]
    lang = np.zeros(batch_size, dtype=np.int32)
    lang[:len(rows)] = self.lang[rows]
    starts = np.zeros(batch_size, dtype=np.int64)
    starts[:len(rows)] = self.sentence_start[rows]

    positions = np.arange(bucket_for(int(lengths.max()), length_buckets))
    words = np.where(positions < lengths[:, None], starts[:, None] + positions, self.pad_word)
    # Per block: its distinct word types (the padding type, the largest, sorts last) and ids.
    blocks = self.word_type[words].reshape(num_shards, -1)
    distinct, word_ids = zip(*(np.unique(block, return_inverse=True) for block in blocks))
    table_types = np.full(blocks.shape, self.word_type[self.pad_word])
    for block, types in enumerate(distinct):
      table_types[block, :len(types)] = types
    table_words = self.type_word[table_types.reshape(-1)]
    word_lengths = self.word_length[table_words]
    offsets = np.arange(bucket_for(int(word_lengths.max()), self.byte_buckets))
    byte_index = np.where(offsets < word_lengths[:, None],
                          self.word_start[table_words][:, None] + offsets, len(self.word_bytes) - 1)
    width = len(offsets)
    pack_offsets, pack_lengths = pack_words(word_lengths, width, num_shards,
                                            packed_rows(blocks.shape[1], width))
    return {
        "word_bytes": self.word_bytes[byte_index].astype(np.int32),
        "word_byte_lengths": word_lengths,
        "pack_offsets": pack_offsets,
        "pack_lengths": pack_lengths,
        "word_ids": np.stack(word_ids).reshape(words.shape).astype(np.int32),
        "lengths": lengths,
        "tags": self.tags[words],
        "lang": lang,
    }


def check_num_shards(batch_size: int, num_shards: int) -> None:
  """A batch splits into `num_shards` equal blocks of rows."""
  if num_shards < 1 or batch_size % num_shards:
    raise ValueError(f"batch size {batch_size} does not split into {num_shards} equal shards")


def packed_rows(slots: int, width: int) -> int:
  """The rows of `width` bytes a block of `slots` word slots packs its distinct words into (a
  multiple of 8); one shape per length bucket for nearly every batch, with little padding."""
  scale, power = _PACKED_BYTES
  return 8 * math.ceil(scale * slots**power / width / 8)


def pack_words(word_lengths: np.ndarray, width: int, num_shards: int = 1, min_rows: int = 8
               ) -> tuple[np.ndarray, np.ndarray]:
  """Where each table word goes when a block's words are packed side by side into rows of
  `width` bytes: `pack_offsets` [S*U] (row * width + column of its first byte, within its block)
  and `pack_lengths` [S*R] (bytes used per row; R per block is `min_rows` doubled until the
  words fit, so that a length bucket nearly always compiles to one shape).

  A byte encoder that restarts its state at every word reads the packed rows instead of one
  padded row per word: CoNLL words average 7 bytes, so a 16-byte table is mostly padding. Rows
  are filled largest word first, then topped up with the smallest ones (near-optimal here).
  """
  blocks = np.asarray(word_lengths).reshape(num_shards, -1)
  offsets = np.zeros(blocks.shape, np.int32)
  rows_per_block = []
  for block, lengths in enumerate(blocks):
    order = [int(i) for i in np.argsort(-lengths, kind="stable") if lengths[i] > 0]
    rows, low, high = [], 0, len(order) - 1
    while low <= high:
      take, used = [order[low]], int(lengths[order[low]])
      low += 1
      while low <= high and used + lengths[order[high]] <= width:
        take.append(order[high])
        used += int(lengths[order[high]])
        high -= 1
      offsets[block, take] = len(rows) * width + np.cumsum([0] + [lengths[i] for i in take[:-1]])
      rows.append(used)
    rows_per_block.append(rows)
  num_rows = min_rows
  while num_rows < max(map(len, rows_per_block)):
    num_rows *= 2
  pack_lengths = np.zeros((num_shards, num_rows), np.int32)
  for block, rows in enumerate(rows_per_block):
    pack_lengths[block, :len(rows)] = rows
  return offsets.reshape(-1), pack_lengths.reshape(-1)


def global_word_ids(batch: Mapping[str, np.ndarray], num_shards: int) -> np.ndarray:
  """[B, T] indices into the whole `word_bytes` table (each row's block offset added)."""
  rows, _ = batch["word_ids"].shape
  table_size = len(batch["word_byte_lengths"]) // num_shards
  block = np.arange(rows) // (rows // num_shards)
  return batch["word_ids"] + (block * table_size)[:, None]


def bucket_for(size: int, buckets: Sequence[int]) -> int:
  """The smallest bucket that holds `size`."""
  index = int(np.searchsorted(buckets, size))
  if index == len(buckets):
    raise ValueError(f"size {size} exceeds the largest bucket of {tuple(buckets)}")
  return int(buckets[index])


def normalise_buckets(buckets: Sequence[int], name: str) -> tuple[int, ...]:
  """Sorted, de-duplicated positive bucket sizes; an error names the config key `name`."""
  result = tuple(sorted(set(int(b) for b in buckets)))
  if not result or result[0] < 1:
    raise ValueError(f"{name} must be a non-empty list of positive sizes, got {tuple(buckets)}")
  return result


def byte_buckets_for(byte_buckets: Sequence[int], max_word_bytes: int) -> tuple[int, ...]:
  """Byte buckets below `max_word_bytes`, capped by `max_word_bytes` itself."""
  buckets = normalise_buckets(byte_buckets, "byte_buckets")
  return tuple(b for b in buckets if b < max_word_bytes) + (max_word_bytes,)


def eval_length_buckets(length_buckets: Sequence[int], longest: int) -> tuple[int, ...]:
  """Length buckets extended, if needed, by a multiple of the largest that covers `longest`."""
  buckets = normalise_buckets(length_buckets, "length_buckets")
  if longest <= buckets[-1]:
    return buckets
  return buckets + (math.ceil(longest / buckets[-1]) * buckets[-1],)


class TrainBatches:
  """Training batches over a language mixture, reshuffled each epoch, resumable exactly.

  `languages` maps each mixture name to its training sentences (extra names are ignored; the
  mixture's weight-0 languages are not in it). Build it as:

    mix = Mixture({"conll2002/es": 1, "conll2002/nl": 1}, mode="proportional")
    train = mix.load("train", root, type_map=...)
    label_map = LabelMap.from_sentences(s for group in train.values() for s in group)
    batches = TrainBatches(train, label_map, batch_size=32, mixture=mix, seed=0)
    batch = next(batches); state = batches.get_state(); ...; batches.set_state(state)

  Iterates forever, or for `num_epochs` epochs. Each epoch has `batches_per_epoch` batches, the
  last partial one padded with empty rows. `num_shards` (the data-parallel device count; it must
  divide `batch_size`) sets how many word tables a batch carries.

  The rows come from `packer` (the packing hook): a subclass with another packer, such as
  `byte_batching.ByteTrainBatches`, has the same mixture, plans and resumption over other rows.
  A packer is built as `packer(sentences, label_map, lang=..., max_length=..., **packing)` (it cuts
  sentences to `max_length` units and counts them in `num_truncated`) and has `lengths`, `len()`
  and `batch(rows, batch_size, length_buckets, num_shards)`. `packing` are the packer's own
  options: here `max_word_bytes` and `byte_buckets` (`PackedSentences`).
  """

  packer: Callable[..., Any] = PackedSentences
  length_unit = "words"  # what `length_buckets` count

  def __init__(self, languages: Mapping[str, Sequence[conll.Sentence]],
               label_map: labels_lib.LabelMap, *, batch_size: int,
               mixture: mixture_lib.Mixture | None = None, seed: int = 0,
               num_epochs: int | None = None,
               length_buckets: Sequence[int] = DEFAULT_LENGTH_BUCKETS,
               sort_window: int = DEFAULT_SORT_WINDOW, num_shards: int = 1, **packing: Any):
    if sort_window < 1:
      raise ValueError(f"need sort_window >= 1, got {sort_window}")
    groups = self._start(languages, batch_size=batch_size, mixture=mixture, seed=seed,
                         num_epochs=num_epochs, num_shards=num_shards)
    self.sizes = [len(group) for group in groups]
    self.mixture.probabilities(self.sizes)  # fails early on an empty language
    self.sort_window = sort_window
    self.length_buckets = normalise_buckets(length_buckets, "length_buckets")
    self.packed = self.packer(
        [s for group in groups for s in group], label_map,
        lang=np.repeat(np.arange(len(groups), dtype=np.int32), self.sizes),
        max_length=self.length_buckets[-1], **packing)
    if self.packed.num_truncated:
      logging.warning("truncated %d of %d training sentences to %d %s",
                      self.packed.num_truncated, len(self.packed), self.length_buckets[-1],
                      self.length_unit)
    self._offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

  def _start(self, languages: Mapping[str, Any], *, batch_size: int,
             mixture: mixture_lib.Mixture | None, seed: int, num_epochs: int | None,
             num_shards: int) -> list[Any]:
    """Checks and keeps the options every subclass shares, positions the iterator before the first
    batch, and returns `languages`' values in mixture order."""
    if batch_size < 1 or seed < 0:
      raise ValueError(f"need batch_size >= 1 and seed >= 0, got {batch_size} and {seed}")
    check_num_shards(batch_size, num_shards)
    self.mixture = mixture or mixture_lib.Mixture({name: 1.0 for name in languages})
    missing = [name for name in self.mixture.names if name not in languages]
    if missing:
      raise KeyError(f"no training sentences given for mixture languages {missing}")
    self.batch_size = batch_size
    self.num_shards = num_shards
    self.seed = seed
    self.num_epochs = num_epochs
    self._epoch = 0
    self._position = 0
    self._plan: tuple[int, list[np.ndarray]] | None = None
    return [languages[name] for name in self.mixture.names]

  @property
  def num_truncated(self) -> int:
    """Training sentences cut to the largest length bucket."""
    return self.packed.num_truncated

  @property
  def batches_per_epoch(self) -> int:
    return math.ceil(sum(self.sizes) / self.batch_size)

  def epoch_plan(self, epoch: int) -> list[np.ndarray]:
    """Sentence rows (indices into the concatenated languages) of each batch of an epoch."""
    order = self.mixture.epoch_order(self.sizes, self.seed, epoch)
    rows = self._offsets[order[:, 0]] + order[:, 1]
    window = np.arange(len(rows)) // (self.batch_size * self.sort_window)
    rows = rows[np.lexsort((self.packed.lengths[rows], window))]
    batches = [rows[i:i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
    rng = np.random.default_rng([self.seed, epoch, _BATCH_ORDER_STREAM])
    shuffle = rng.permutation(len(batches))
    return [batches[i] for i in shuffle]

  def get_state(self) -> dict[str, int]:
    """JSON-serialisable position of the next batch."""
    return {"epoch": self._epoch, "position": self._position, "seed": self.seed,
            "num_sentences": len(self.packed)}

  def set_state(self, state: Mapping[str, int]):
    """Continue exactly where `get_state()` was taken (same data, seed and batch size)."""
    if state["seed"] != self.seed or state["num_sentences"] != len(self.packed):
      raise ValueError(f"state {dict(state)} was saved for other data: this iterator has seed "
                       f"{self.seed} and {len(self.packed)} sentences")
    if not 0 <= state["position"] < self.batches_per_epoch or state["epoch"] < 0:
      raise ValueError(f"state {dict(state)} is out of range "
                       f"({self.batches_per_epoch} batches per epoch)")
    self._epoch = int(state["epoch"])
    self._position = int(state["position"])

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    if self.num_epochs is not None and self._epoch >= self.num_epochs:
      raise StopIteration
    if self._plan is None or self._plan[0] != self._epoch:
      self._plan = (self._epoch, self.epoch_plan(self._epoch))
    rows = self._plan[1][self._position]
    self._position += 1
    if self._position == len(self._plan[1]):
      self._epoch, self._position = self._epoch + 1, 0
    return self.packed.batch(rows, self.batch_size, self.length_buckets, self.num_shards)


class EvalBatches:
  """Every sentence of one language exactly once, in a fixed length-sorted order, never truncated.

  Iterating yields the batches; `indices[i][r]` is the position in `sentences` of batch i's row r,
  or -1 for an empty padding row. Packing happens once, so iterating again (each evaluation) is
  cheap. `num_shards`, `packer` and `packing` as in `TrainBatches`.
  """

  packer: Callable[..., Any] = PackedSentences

  def __init__(self, sentences: Sequence[conll.Sentence], label_map: labels_lib.LabelMap, *,
               batch_size: int, lang: int = 0,
               length_buckets: Sequence[int] = DEFAULT_LENGTH_BUCKETS, num_shards: int = 1,
               **packing: Any):
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_num_shards(batch_size, num_shards)
    self.batch_size = batch_size
    self.num_shards = num_shards
    self.packed = self.packer(sentences, label_map, lang=lang, **packing)
    longest = int(self.packed.lengths.max(initial=0))
    self.length_buckets = eval_length_buckets(length_buckets, longest)
    order = np.argsort(self.packed.lengths, kind="stable")
    self._rows = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    self.indices = [np.pad(rows, (0, batch_size - len(rows)), constant_values=-1)
                    for rows in self._rows]

  def __len__(self) -> int:
    return len(self._rows)

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    for rows in self._rows:
      yield self.packed.batch(rows, self.batch_size, self.length_buckets, self.num_shards)

  def per_sentence(self, outputs: Sequence[Any], lengths: Sequence[int] | None = None,
                   axis: int | None = 0) -> list[Any]:
    """Per-row `outputs` (one array per batch, in order, rows first) as one array per sentence,
    in the sentences' order, cut to the sentence's `lengths` (default: `packed.lengths`) along
    `axis` of a row (None: uncut). Padding rows are dropped."""
    lengths = self.packed.lengths if lengths is None else lengths
    result: list[Any] = [None] * len(self.packed)
    for output, indices in zip(outputs, self.indices):
      for row, index in enumerate(indices):
        if index >= 0:
          result[index] = (output[row] if axis is None
                           else np.take(output[row], np.arange(lengths[index]), axis=axis))
    return result


def sentence_bytes(sentence: conll.Sentence) -> tuple[np.ndarray, np.ndarray]:
  """The sentence as one UTF-8 byte stream (words joined by one space) and per-byte entity types.

  Labels (research-notes §2.2, CharNER): every byte of a word gets the word's type ("O", "PER",
  ...); the space before a word gets that type if the word's tag is I-, else "O". Returns int32
  byte values [L] and a str array [L].
  """
  if not len(sentence):
    return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=str)
  stream = np.frombuffer(" ".join(sentence.tokens).encode("utf-8"), dtype=np.uint8).astype(np.int32)
  types = [tag if tag == "O" else tag[2:] for tag in sentence.tags]
  pieces, piece_labels = [], []
  for i, (token, tag, type_) in enumerate(zip(sentence.tokens, sentence.tags, types)):
    if i:
      pieces.append(1)
      piece_labels.append(type_ if tag.startswith("I-") else "O")
    pieces.append(len(token.encode("utf-8")))
    piece_labels.append(type_)
  return stream, np.repeat(np.array(piece_labels), pieces)
