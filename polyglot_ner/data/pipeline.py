"""The training input pipeline on grain: the epoch plan samples, the kind packs, a thread prefetches.

A kind's `TrainBatches` (`data/batches.py`) says what every batch of a run holds: batch i is the
sentence rows `plan_rows(i)` (position i mod batches_per_epoch of epoch i div batches_per_epoch's
plan), packed into arrays by `pack(rows)`. `TrainIterator` serves them through grain:

  grain.MapDataset.source(plan)   one element per batch: its rows (the sampler)
      .map(pack)                  the kind's packing, a grain transform
      .to_iter_dataset(...)       packed ahead on a background thread (`prefetch` batches)

The sampler is the project's epoch plan, not grain's per-record shuffling and `MapDataset.mix`:
the plan sorts each window of the mixture's seeded order by length before cutting it into batches,
a batch-level step those cannot express. It keeps padding low (`benchmarks/data_pipeline.py`
measures the padded fraction of both) and every batch of a run what it was before grain, so that
runs, the bitwise resume tests and the 1-vs-4-device test are unchanged.

grain's iterator state (`{"next_index": i}`: batches consumed, whatever has been prefetched) is the
data position saved in every checkpoint's meta, beside the seed and sentence count it is valid for.

In a run of several processes each packs only its `part` of every batch: the rows of its own
devices (`batches.part_rows`), with the shapes of the whole batch, which the packer derives from
all rows' lengths. Shapes that only packing reveals (the byte CRF's word tables) are the plan's
`agreed_rows`: every process pads its blocks of those arrays with zero rows to the largest over
the processes, which `agree` (a collective) finds. The prefetch thread never calls it; `next()`
does, on the loop's thread, for one batch ahead so that the loop never waits for the devices.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
import time
from typing import Any, Protocol

import grain
import numpy as np

# Batches packed ahead of the training loop. One thread packs them in order: the packing is NumPy
# and mostly releases the GIL, and the loop only needs the next batch.
DEFAULT_PREFETCH = 4
# The length of an endless run's batch sequence (grain's datasets have a length): far more epochs
# than any run takes.
_ENDLESS_EPOCHS = 1 << 30
# Batches whose agreement `next()` has started: the next one, and the one after it, whose
# collective then runs on the devices behind the step already queued rather than stalling them.
_AGREED_AHEAD = 2

Part = tuple[int, int]  # (index, count): one of `count` processes' equal shares of a batch
WHOLE: Part = (0, 1)
# `agree(sizes)` starts a collective over the processes and returns a function that waits for its
# result: the elementwise largest of every process's `sizes`.
Agree = Callable[[np.ndarray], Callable[[], np.ndarray]]


class Plan(Protocol):
  """What `TrainIterator` needs of a kind's `TrainBatches`."""

  seed: int
  num_epochs: int | None
  batches_per_epoch: int
  num_shards: int  # blocks of rows per batch, one per device
  # Arrays whose rows per block a part's packing alone decides, each named with its group of
  # arrays that share one row count: processes pad them with zero rows to the largest.
  agreed_rows: Mapping[str, str]

  def __len__(self) -> int: ...  # sentences (or windows) in the plans
  def plan_rows(self, index: int) -> np.ndarray: ...
  def pack(self, rows: np.ndarray, part: Part = WHOLE) -> dict[str, np.ndarray]: ...


def block_rows(batch: Mapping[str, np.ndarray], agreed_rows: Mapping[str, str], blocks: int
               ) -> np.ndarray:
  """Rows per block of each group of `agreed_rows` (sorted by name) in a batch of `blocks`."""
  array = {group: name for name, group in agreed_rows.items()}  # one array of each group
  return np.array([len(batch[array[group]]) // blocks for group in sorted(array)], np.int64)


def pad_block_rows(batch: dict[str, np.ndarray], agreed_rows: Mapping[str, str], blocks: int,
                   sizes: np.ndarray) -> dict[str, np.ndarray]:
  """`batch` with each block of the `agreed_rows` arrays padded with zero rows to its group's
  entry of `sizes` (as `block_rows`)."""
  target = dict(zip(sorted(set(agreed_rows.values())), sizes.tolist()))
  padded = dict(batch)
  for name, group in agreed_rows.items():
    value = batch[name].reshape(blocks, -1, *batch[name].shape[1:])
    extra = [(0, 0), (0, target[group] - value.shape[1])] + [(0, 0)] * (value.ndim - 2)
    padded[name] = np.pad(value, extra).reshape(-1, *batch[name].shape[1:])
  return padded


class _Rows:
  """grain's random-access source of a run's batches: element i is batch i's rows."""

  def __init__(self, plan: Plan):
    self._plan = plan
    epochs = plan.num_epochs if plan.num_epochs is not None else _ENDLESS_EPOCHS
    self._length = epochs * plan.batches_per_epoch

  def __len__(self) -> int:
    return self._length

  def __getitem__(self, index: int) -> np.ndarray:
    return self._plan.plan_rows(index)


class TrainIterator:
  """The packed training batches of `plan`, in order, prefetched; resumable exactly.

  `next()` is the next global batch (a dict of arrays), or with `part` = (p, P) its rows of
  process p of P; `agree` (needed when P > 1 and the plan has `agreed_rows`) makes the processes'
  parts one batch. `get_state()` / `set_state()` are its JSON-serialisable position.
  `wait_seconds` adds up the time `next()` spent waiting for a batch (the input pipeline falling
  behind the loop); `rows` counts the real rows served, by language index. `prefetch=0` packs on
  the calling thread. Close it (or use it as a context manager) to stop the prefetch thread.
  """

  def __init__(self, plan: Plan, *, prefetch: int = DEFAULT_PREFETCH, part: Part = WHOLE,
               agree: Agree | None = None):
    self._plan = plan
    self._blocks = plan.num_shards // part[1]
    self._agreed_rows = plan.agreed_rows if part[1] > 1 else {}
    if self._agreed_rows and agree is None:
      raise ValueError(f"part {part} of a plan with agreed rows needs `agree`")
    self._agree = agree
    self._ahead: collections.deque[tuple[dict[str, np.ndarray], Callable[[], np.ndarray]]] = (
        collections.deque())
    dataset = grain.MapDataset.source(_Rows(plan)).map(lambda rows: plan.pack(rows, part))
    self._iterator = iter(dataset.to_iter_dataset(
        grain.ReadOptions(num_threads=1 if prefetch else 0, prefetch_buffer_size=prefetch)))
    self.wait_seconds = 0.0
    self.rows: collections.Counter[int] = collections.Counter()

  def __iter__(self) -> TrainIterator:
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    start = time.perf_counter()
    try:
      batch = self._next_agreed() if self._agreed_rows else next(self._iterator)
    finally:
      self.wait_seconds += time.perf_counter() - start
    languages, rows = np.unique(batch["lang"][batch["lengths"] > 0], return_counts=True)
    self.rows.update(dict(zip(languages.tolist(), rows.tolist())))
    return batch

  def _next_agreed(self) -> dict[str, np.ndarray]:
    """The next part, padded as agreed; starts the agreement on the ones after it."""
    while len(self._ahead) < _AGREED_AHEAD:
      try:
        batch = next(self._iterator)
      except StopIteration:
        break
      self._ahead.append((batch, self._agree(
          block_rows(batch, self._agreed_rows, self._blocks))))
    if not self._ahead:
      raise StopIteration
    batch, agreed = self._ahead.popleft()
    return pad_block_rows(batch, self._agreed_rows, self._blocks, agreed())

  def get_state(self) -> dict[str, Any]:
    """The position of the next batch, with the seed and size of the data it belongs to."""
    state = self._iterator.get_state()
    return {**state, "next_index": state["next_index"] - len(self._ahead),
            "seed": self._plan.seed, "num_sentences": len(self._plan)}

  def set_state(self, state: Mapping[str, Any]) -> None:
    """Continues exactly where `get_state()` was taken (same data, seed and batch size). Also
    reads the `{"epoch", "position"}` states of checkpoints written before grain."""
    if state["seed"] != self._plan.seed or state["num_sentences"] != len(self._plan):
      raise ValueError(f"state {dict(state)} was saved for other data: this iterator has seed "
                       f"{self._plan.seed} and {len(self._plan)} sentences")
    per_epoch = self._plan.batches_per_epoch
    if "next_index" in state:
      next_index = int(state["next_index"])
    elif 0 <= state["position"] < per_epoch:
      next_index = int(state["epoch"]) * per_epoch + int(state["position"])
    else:
      next_index = -1
    if next_index < 0:
      raise ValueError(f"state {dict(state)} is out of range ({per_epoch} batches per epoch)")
    self._ahead.clear()
    self._iterator.set_state({"next_index": next_index})

  def close(self) -> None:
    """Tells the prefetch thread to stop (it exits after the batch it is packing); finished."""
    self._iterator.close()

  def __enter__(self) -> TrainIterator:
    return self

  def __exit__(self, *exc_info: Any) -> None:
    self.close()
