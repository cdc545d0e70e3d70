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
"""

from __future__ import annotations

from collections.abc import Mapping
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


class Plan(Protocol):
  """What `TrainIterator` needs of a kind's `TrainBatches`."""

  seed: int
  num_epochs: int | None
  batches_per_epoch: int

  def __len__(self) -> int: ...  # sentences (or windows) in the plans
  def plan_rows(self, index: int) -> np.ndarray: ...
  def pack(self, rows: np.ndarray) -> dict[str, np.ndarray]: ...


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

  `next()` is the next global batch (a dict of arrays); `get_state()` / `set_state()` are its
  JSON-serialisable position. `wait_seconds` adds up the time `next()` spent waiting for a batch
  (the input pipeline falling behind the loop). `prefetch=0` packs on the calling thread. Close it
  (or use it as a context manager) to stop the prefetch thread.
  """

  def __init__(self, plan: Plan, *, prefetch: int = DEFAULT_PREFETCH):
    self._plan = plan
    dataset = grain.MapDataset.source(_Rows(plan)).map(plan.pack).to_iter_dataset(
        grain.ReadOptions(num_threads=1 if prefetch else 0, prefetch_buffer_size=prefetch))
    self._iterator = iter(dataset)
    self.wait_seconds = 0.0

  def __iter__(self) -> TrainIterator:
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    start = time.perf_counter()
    try:
      return next(self._iterator)
    finally:
      self.wait_seconds += time.perf_counter() - start

  def get_state(self) -> dict[str, Any]:
    """The position of the next batch, with the seed and size of the data it belongs to."""
    return {**self._iterator.get_state(), "seed": self._plan.seed,
            "num_sentences": len(self._plan)}

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
    self._iterator.set_state({"next_index": next_index})

  def close(self) -> None:
    """Tells the prefetch thread to stop (it exits after the batch it is packing); finished."""
    self._iterator.close()

  def __enter__(self) -> TrainIterator:
    return self

  def __exit__(self, *exc_info: Any) -> None:
    self.close()
