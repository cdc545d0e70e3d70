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
from collections.abc import Mapping
from typing import Any

import ml_collections

from polyglot_ner.train import loop

LEAVES = ("langs", "type_map")  # dicts compared whole: a key is data, not a config field


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


def _flat(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  flat = {}
  for key, value in config.items():
    if isinstance(value, Mapping) and key not in LEAVES:
      flat.update(_flat(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def config_differences(recorded: Mapping[str, Any], config: ml_collections.ConfigDict
                       ) -> tuple[str, ...]:
  """`"key: recorded -> wanted"` for every key that changes what a run computes."""
  old, new = _flat(recorded), _flat(json.loads(config.to_json()))
  return tuple(f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
               for key in sorted(set(old) | set(new))
               if key not in loop.RESUMABLE_CHANGES and old.get(key) != new.get(key))


def status(workdir: str | os.PathLike, config: ml_collections.ConfigDict) -> Status:
  """The status of the run of `config` in `workdir`."""
  path = pathlib.Path(workdir) / loop.RESULTS_FILE
  if not path.is_file():
    return Status(None)
  results = json.loads(path.read_text())
  return Status(results, config_differences(results.get("config", {}), config))
