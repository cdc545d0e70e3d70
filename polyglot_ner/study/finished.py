"""Whether a workdir holds a finished run of a given training config, asked by `experiment` and
`launch/sweep.py` before they train anything.

A run is finished when its workdir holds `results.json` (the loop writes it last, with the config it
trained). It is a run of `config` when that recorded config equals `config` but for the keys that do
not change what is computed (`loop.RESUMABLE_CHANGES`). A finished run of another config is stale:
training refuses to resume into its workdir, and its results are not this config's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

import ml_collections

from polyglot_ner.train import loop

@dataclasses.dataclass(frozen=True)
class Status:
  """A workdir's run: its results (None when unfinished) and how its config differs."""

  results: dict[str, Any] | None
  differences: tuple[str, ...] = ()  # "key: recorded -> wanted", for a finished run

  @property
  def finished(self) -> bool:
    """Finished with the wanted config."""
    return self.results is not None and not self.differences

  @property
  def stale(self) -> bool:
    """Finished with another config."""
    return self.results is not None and bool(self.differences)


def status(workdir: str | os.PathLike, config: ml_collections.ConfigDict) -> Status:
  """The status of the run of `config` in `workdir`."""
  path = pathlib.Path(workdir) / loop.RESULTS_FILE
  if not path.is_file():
    return Status(None)
  results = json.loads(path.read_text())
  return Status(results, loop.config_differences(results.get("config", {}), config))
