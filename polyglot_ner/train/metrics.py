"""Where training numbers go: JSON lines in the workdir, TensorBoard when available, a progress bar.

Only process 0 writes. `metrics.jsonl` holds one object per record (`step`, `kind`, wall `time`
and the values); on resume the records past the resumed step (written by the interrupted run after
its last checkpoint) are dropped, so the file reads as one uninterrupted run. TensorBoard event files
are written only when `tensorboardX` can be imported; nested values become `a/b/c` scalar tags.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Mapping

from etils import epath
import tqdm

METRICS_FILE = "metrics.jsonl"


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
  """The numeric leaves of nested `values` as {"a/b/c": number}."""
  flat = {}
  for key, value in values.items():
    name = f"{prefix}{key}"
    if isinstance(value, Mapping):
      flat.update(flatten(value, name + "/"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
      flat[name] = float(value)
  return flat


def _truncate_after(path: epath.Path, step: int) -> None:
  """Drops the records of `path` whose step is past `step` (rewritten atomically)."""
  if not path.exists():
    return
  kept = [line for line in path.read_text().splitlines()
          if line.strip() and json.loads(line)["step"] <= step]
  tmp = path.with_suffix(".tmp")
  tmp.write_text("".join(line + "\n" for line in kept))
  tmp.replace(path)


def _json_safe(value: Any) -> Any:
  """Non-finite floats as strings, so every line is strict JSON."""
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)
  if isinstance(value, Mapping):
    return {k: _json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_json_safe(v) for v in value]
  return value


class MetricWriter:
  """Appends records to `<workdir>/metrics.jsonl` (and TensorBoard) on the writing process."""

  def __init__(self, workdir: str | os.PathLike, resume_step: int = 0, enabled: bool = True):
    self.enabled = enabled
    self._file = None
    self._tensorboard = None
    if not enabled:
      return
    workdir = epath.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / METRICS_FILE
    _truncate_after(path, resume_step)
    self._file = path.open("a")
    try:
      import tensorboardX  # pylint: disable=import-outside-toplevel
    except ImportError:
      return
    self._tensorboard = tensorboardX.SummaryWriter(os.fspath(workdir / "tensorboard"),
                                                   purge_step=resume_step + 1)

  def write(self, step: int, kind: str, values: Mapping[str, Any]) -> None:
    """Records `values` (numbers or nested dicts of them) of `kind` ("train", "dev", ...)."""
    if not self.enabled:
      return
    record = {"step": int(step), "kind": kind, "time": time.time(), **_json_safe(dict(values))}
    self._file.write(json.dumps(record) + "\n")
    self._file.flush()
    if self._tensorboard is not None:
      for tag, value in flatten(values, kind + "/").items():
        self._tensorboard.add_scalar(tag, value, step)

  def close(self) -> None:
    """Flushes and closes the outputs."""
    if self._file is not None:
      self._file.close()
    if self._tensorboard is not None:
      self._tensorboard.close()


class Progress:
  """A tqdm bar over training steps showing sentences/s and tokens/s; ETA comes from tqdm."""

  def __init__(self, total_steps: int, initial_step: int, enabled: bool = True):
    self._bar = tqdm.tqdm(total=total_steps, initial=initial_step, unit="step", dynamic_ncols=True,
                          disable=not enabled)
    self._enabled = enabled
    self._start = time.perf_counter()
    self._sentences = 0
    self._tokens = 0

  def update(self, sentences: int, tokens: int, loss: float | None = None) -> None:
    """Advances by one step that trained on `sentences` sentences of `tokens` words in total."""
    self._sentences += sentences
    self._tokens += tokens
    elapsed = max(time.perf_counter() - self._start, 1e-9)
    postfix = {"sent/s": f"{self._sentences / elapsed:.0f}", "tok/s": f"{self._tokens / elapsed:.0f}"}
    if loss is not None:
      postfix["loss"] = f"{loss:.3f}"
    self._bar.set_postfix(postfix, refresh=False)
    self._bar.update(1)

  def rates(self) -> dict[str, float]:
    """Sentences/s and tokens/s since the bar started."""
    elapsed = max(time.perf_counter() - self._start, 1e-9)
    return {"sentences_per_s": self._sentences / elapsed, "tokens_per_s": self._tokens / elapsed}

  def write(self, message: str) -> None:
    """Prints a line without breaking the bar (nothing when disabled)."""
    if self._enabled:
      self._bar.write(message)

  def close(self) -> None:
    """Removes the bar."""
    self._bar.close()
