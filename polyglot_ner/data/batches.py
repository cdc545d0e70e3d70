"""Batches over a language mixture, for any kind: bucketing, epoch plans, packing.

A kind's batches are rows packed by its own packer (the byte CRF's word tables, CharNER's byte rows,
...); what every kind shares lives here. `TrainBatches` plans a run's batches epoch by epoch: the
mixture's seeded order (see `mixture.py`) is cut into windows of `sort_window` batches, sorted by
length inside each window to limit padding, cut into batches, and the batches are shuffled. Every
epoch's plan is a pure function of (seed, epoch), so batch i of a run is known without the ones
before it; `data/pipeline.py` serves them through grain (the plan samples, the packer is the
transform) and resumes at any batch. Training truncates sentences longer than the largest length
bucket (and reports how many); `EvalBatches` never truncates sentences: it adds a bucket that
covers the longest one. Lengths are the source of truth; a last partial batch is filled with empty
rows (length 0). In a run of several processes each packs only its part of a training batch, the
rows of its own devices (`part_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from absl import logging
import numpy as np

from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import mixture as mixture_lib
from polyglot_ner.data import pipeline

DEFAULT_SORT_WINDOW = 64  # batches per window sorted by length

# Seed stream of the batch shuffle; mixture.py uses 0 and 1 for its own streams.
_BATCH_ORDER_STREAM = 2


def check_num_shards(batch_size: int, num_shards: int) -> None:
  """A batch splits into `num_shards` equal blocks of rows."""
  if num_shards < 1 or batch_size % num_shards:
    raise ValueError(f"batch size {batch_size} does not split into {num_shards} equal shards")


Part = pipeline.Part
WHOLE = pipeline.WHOLE


def part_rows(batch_size: int, num_shards: int, part: Part = WHOLE) -> slice:
  """The contiguous rows of a batch that `part` packs: its `num_shards / count` blocks (the
  blocks of the devices of process `index`); the blocks must split evenly over the parts."""
  index, count = part
  check_num_shards(batch_size, num_shards)
  if num_shards % count or not 0 <= index < count:
    raise ValueError(f"part {part} of a batch of {num_shards} blocks: need an index below the "
                     "count and a count that divides the blocks")
  size = batch_size // count
  return slice(index * size, (index + 1) * size)


class PaddedRows(NamedTuple):
  """Columns of the rows a part packs (`padded_rows`), and the longest sentence of the batch."""

  lengths: np.ndarray  # int32
  lang: np.ndarray  # int32
  starts: np.ndarray  # int64
  longest: int  # over every part's rows: the batch's length bucket


def padded_rows(packed: Any, rows: np.ndarray, batch_size: int, num_shards: int,
                part: Part = WHOLE) -> PaddedRows:
  """Lengths, languages and starts of the sentences `rows` of a packer (its `lengths`, `lang` and
  `sentence_start`), then empty rows up to `batch_size`, cut to the rows of `part`; the rows
  must fit and the batch split into `num_shards` equal blocks."""
  if len(rows) > batch_size:
    raise ValueError(f"{len(rows)} sentences do not fit a batch of {batch_size}")
  mine = part_rows(batch_size, num_shards, part)
  columns = []
  for values, dtype in ((packed.lengths, np.int32), (packed.lang, np.int32),
                        (packed.sentence_start, np.int64)):
    column = np.zeros(batch_size, dtype=dtype)
    column[:len(rows)] = values[rows]
    columns.append(column[mine])
  return PaddedRows(*columns, longest=int(packed.lengths[rows].max(initial=0)))


def fitted_rows(count: int, num_shards: int, batch_size: int) -> int:
  """Rows per batch for `count` rows of data: the fewest that hold them in a power of two of
  blocks, or past 8 blocks in a quarter-octave step (320, 384, 448, 512: few compiled shapes, and
  at most a fifth of the rows empty), at most `batch_size`."""
  blocks = -(-count // num_shards)
  octave = 2 ** (blocks - 1).bit_length()
  step = octave // 8 if blocks > 8 else octave
  return min(batch_size, num_shards * step * -(-blocks // step))


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

def eval_length_buckets(length_buckets: Sequence[int], longest: int) -> tuple[int, ...]:
  """Length buckets extended, if needed, by a multiple of the largest that covers `longest`."""
  buckets = normalise_buckets(length_buckets, "length_buckets")
  if longest <= buckets[-1]:
    return buckets
  return buckets + (math.ceil(longest / buckets[-1]) * buckets[-1],)

class TrainBatches:
  """The plan of a run's training batches over a language mixture, reshuffled each epoch.

  `languages` maps each mixture name to its training sentences (extra names are ignored; the
  mixture's weight-0 languages are not in it). Build it as:

    mix = Mixture({"conll2002/es": 1, "conll2002/nl": 1}, mode="proportional")
    train = mix.load("train", root, type_map=...)
    label_map = LabelMap.from_sentences(s for group in train.values() for s in group)
    batches = WordTrainBatches(train, label_map, batch_size=32, mixture=mix, seed=0)
    data = pipeline.TrainIterator(batches)  # or iter(batches), without prefetching
    batch = next(data); state = data.get_state(); ...; data.set_state(state)

  Batch i is `pack(plan_rows(i))`; a run has batches forever, or for `num_epochs` epochs. Each
  epoch has `batches_per_epoch` batches, the last partial one padded with empty rows.
  `num_shards` (the data-parallel device count; it must divide `batch_size`) splits a batch into
  that many equal blocks of rows, one per device.

  A kind subclasses it with its `packer` (the packing hook; e.g. the byte CRF's
  `WordTrainBatches`, CharNER's `ByteTrainBatches`): the same mixture and plans over the kind's
  rows. A packer is built as
  `packer(sentences, label_map, lang=..., max_length=..., **packing)` (it cuts sentences to
  `max_length` units and counts them in `num_truncated`) and has `lengths`, `len()` and
  `batch(rows, batch_size, length_buckets, num_shards, part)`, which packs only the rows of `part`
  (`part_rows`) with the shapes of the whole batch, but those it declares in `agreed_rows`
  (`pipeline.Plan`); `packing` are the packer's own options.
  `length_buckets` (default: the subclass's `default_length_buckets`) count `length_unit`s.
  """

  packer: Callable[..., Any]
  default_length_buckets: tuple[int, ...]
  length_unit: str  # what `length_buckets` count

  def __init__(self, languages: Mapping[str, Sequence[conll.Sentence]],
               label_map: labels_lib.LabelMap, *, batch_size: int,
               mixture: mixture_lib.Mixture | None = None, seed: int = 0,
               num_epochs: int | None = None, length_buckets: Sequence[int] | None = None,
               sort_window: int = DEFAULT_SORT_WINDOW, num_shards: int = 1, **packing: Any):
    if sort_window < 1:
      raise ValueError(f"need sort_window >= 1, got {sort_window}")
    groups = self._start(languages, batch_size=batch_size, mixture=mixture, seed=seed,
                         num_epochs=num_epochs, num_shards=num_shards)
    self.sizes = [len(group) for group in groups]
    self.mixture.probabilities(self.sizes)  # fails early on an empty language
    self.sort_window = sort_window
    self.length_buckets = normalise_buckets(
        self.default_length_buckets if length_buckets is None else length_buckets,
        "length_buckets")
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
    """Checks and keeps the options every subclass shares and returns `languages`' values in
    mixture order."""
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
    self._plan: tuple[int, list[np.ndarray]] = (-1, [])
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

  def __len__(self) -> int:
    """Rows (sentences, or a kind's windows) the plans draw from."""
    return len(self.packed)

  def plan_rows(self, index: int) -> np.ndarray:
    """The rows of the run's batch `index` (counting from 0 over all epochs)."""
    epoch, position = divmod(index, self.batches_per_epoch)
    plan = self._plan  # one epoch's plan kept: batches are asked for in order
    if plan[0] != epoch:
      plan = self._plan = (epoch, self.epoch_plan(epoch))
    return plan[1][position]

  @property
  def agreed_rows(self) -> Mapping[str, str]:
    """The packer's `agreed_rows` (`pipeline.Plan`), if it has any."""
    return getattr(self.packed, "agreed_rows", {})

  def pack(self, rows: np.ndarray, part: Part = WHOLE) -> dict[str, np.ndarray]:
    """The batch of `rows`, or its rows of `part`: the kind's arrays, padded to this plan's
    batch size and buckets."""
    return self.packed.batch(rows, self.batch_size, self.length_buckets, self.num_shards, part)

  def __iter__(self) -> pipeline.TrainIterator:
    """The batches from the first, packed on the calling thread (training prefetches instead)."""
    return pipeline.TrainIterator(self, prefetch=0)

class EvalBatches:
  """Every sentence of one language exactly once, in a fixed length-sorted order, never truncated.

  Iterating yields the batches; `indices[i][r]` is the position in `sentences` of batch i's row r,
  or -1 for an empty padding row. Packing happens once, so iterating again (each evaluation) is
  cheap. `num_shards`, `packer`, `default_length_buckets` and `packing` as in `TrainBatches`.

  Batches have `batch_size` rows, unless `fitted`: then no batch spans two length buckets, and a
  bucket's sentences go in equal batches of at most `batch_size`, each of the fewest rows that
  hold them (`fitted_rows`), so that a batch pads its rows neither to a longer sentence's bucket
  nor with many empty rows. Each bucket has one shape, as in unfitted batches, but the shapes
  depend on the sentences: worth it where the batches are tagged once (`runs.Run.entities`) rather
  than at every evaluation.
  """

  packer: Callable[..., Any]
  default_length_buckets: tuple[int, ...]

  def __init__(self, sentences: Sequence[conll.Sentence], label_map: labels_lib.LabelMap, *,
               batch_size: int, lang: int = 0, length_buckets: Sequence[int] | None = None,
               num_shards: int = 1, fitted: bool = False, **packing: Any):
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_num_shards(batch_size, num_shards)
    self.batch_size = batch_size
    self.num_shards = num_shards
    self.packed = self.packer(sentences, label_map, lang=lang, **packing)
    longest = int(self.packed.lengths.max(initial=0))
    self.length_buckets = eval_length_buckets(
        self.default_length_buckets if length_buckets is None else length_buckets, longest)
    order = np.argsort(self.packed.lengths, kind="stable")
    groups = [order]
    if fitted:
      bucket = np.searchsorted(self.length_buckets, self.packed.lengths[order])
      groups = np.split(order, np.flatnonzero(np.diff(bucket)) + 1)
    batches = []
    for group in groups:
      # Fitted: the bucket's sentences in equal batches, each of the fewest rows that hold them.
      size = -(-len(group) // -(-len(group) // batch_size)) if fitted else batch_size
      rows = fitted_rows(size, num_shards, batch_size) if fitted else batch_size
      batches += [(group[start:start + size], rows) for start in range(0, len(group), size)]
    self._rows = [rows for rows, _ in batches]
    self._sizes = [size for _, size in batches]
    self.indices = [np.pad(rows, (0, size - len(rows)), constant_values=-1)
                    for rows, size in zip(self._rows, self._sizes)]

  def __len__(self) -> int:
    return len(self._rows)

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    for rows, size in zip(self._rows, self._sizes):
      yield self.pack(rows, size)

  def pack(self, rows: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """The batch of `rows` (sentence indices) in `size` rows, the kind's arrays."""
    return self.packed.batch(rows, size, self.length_buckets, self.num_shards)

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
