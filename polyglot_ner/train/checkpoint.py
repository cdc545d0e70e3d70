"""A run's Orbax checkpoints: the latest one (to resume) and the best one on dev (to evaluate).

Layout: `<workdir>/checkpoints/{latest,best}/<step>/{state,meta}`. Each kind is its own
`CheckpointManager` keeping one step, so "resume" and "evaluate the best" are each one lookup.
"state" holds the `TrainState` arrays; "meta" is JSON (config, label map, languages, model kind,
git revision, dev scores, data-iterator position, loop counters, parent checkpoint). Orbax writes a
step into a temporary directory and renames it when complete, so a kill mid-save leaves the previous
step intact; saves are asynchronous, and `wait_until_finished` must run before the process exits.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
from typing import Any

import jax
import orbax.checkpoint as ocp

LATEST = "latest"
BEST = "best"
KINDS = (LATEST, BEST)


def checkpoint_dir(workdir: str | os.PathLike, kind: str) -> pathlib.Path:
  """Where a run's checkpoints of one kind live."""
  if kind not in KINDS:
    raise ValueError(f"unknown checkpoint kind {kind!r}; expected one of {KINDS}")
  return pathlib.Path(workdir) / "checkpoints" / kind


def locate(path: str | os.PathLike) -> tuple[pathlib.Path, str, int | None]:
  """(absolute workdir, kind, step or None) of a run workdir (its best checkpoint), a kind's
  directory (`W/checkpoints/latest`) or one saved step (`W/checkpoints/best/1234`)."""
  given = pathlib.Path(path).resolve()
  in_kind = given.parent.name in KINDS and given.parent.parent.name == "checkpoints"
  if given.name.isdigit() and in_kind:
    return given.parents[2], given.parent.name, int(given.name)
  if given.name in KINDS and given.parent.name == "checkpoints":
    return given.parents[1], given.name, None
  if (given / "checkpoints").is_dir():
    return given, BEST, None
  raise FileNotFoundError(f"{os.fspath(path)} is neither a run workdir (with a checkpoints/ "
                          "folder) nor a checkpoint path like W/checkpoints/best/<step>")


def git_revision() -> str | None:
  """The source tree's git commit (with `-dirty` when modified), or None outside a checkout."""
  source = pathlib.Path(__file__).resolve().parent
  try:
    return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], cwd=source,
                          capture_output=True, text=True, check=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None


def _manager(directory: pathlib.Path, read_only: bool) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=1, create=not read_only,
                                         cleanup_tmp_directories=not read_only)
  handlers = {"state": ocp.PyTreeCheckpointHandler(), "meta": ocp.JsonCheckpointHandler()}
  return ocp.CheckpointManager(directory, item_handlers=handlers, options=options)


def _restore_args(target: Any, partial: bool = False) -> ocp.args.PyTreeRestore:
  """Restore arguments that give every leaf the shape, dtype and sharding of `target`'s leaf."""
  abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), target)
  return ocp.args.PyTreeRestore(item=abstract, partial_restore=partial,
                                restore_args=ocp.checkpoint_utils.construct_restore_args(abstract))


class Checkpoints:
  """The latest and best checkpoints of one workdir."""

  def __init__(self, workdir: str | os.PathLike, read_only: bool = False):
    """`read_only`: neither create directories nor clean up a killed save's temporary files."""
    self.workdir = pathlib.Path(workdir)
    self._managers = {kind: _manager(checkpoint_dir(workdir, kind), read_only) for kind in KINDS}

  def step(self, kind: str = LATEST) -> int | None:
    """The saved step of `kind`, or None when there is none."""
    return self._managers[kind].latest_step()

  def save(self, kind: str, state: Any, meta: dict[str, Any]) -> None:
    """Starts an asynchronous save of `state` + `meta` at `state.step` (replacing the previous).

    A step already saved is kept as it is: a resumed run that repeats a save completed before
    the interruption (e.g. "best" written, then killed before "latest") computes the same state.
    In a multi-process run, every pending save of either kind finishes first: the managers'
    background threads synchronise the processes through barriers of the same names, which must
    not overlap.
    """
    manager = self._managers[kind]
    if jax.process_count() > 1:
      self.wait_until_finished()
    else:
      manager.wait_until_finished()
    step = int(jax.device_get(state.step))
    if step in manager.all_steps():
      return
    manager.save(step, force=True, args=ocp.args.Composite(
        state=ocp.args.PyTreeSave(state), meta=ocp.args.JsonSave(meta)))

  def restore(self, kind: str, target: Any) -> tuple[Any, dict[str, Any]]:
    """Restores (state, meta) of `kind` into the structure, shapes and shardings of `target`."""
    restored = self._managers[kind].restore(self._require(kind), args=ocp.args.Composite(
        state=_restore_args(target), meta=ocp.args.JsonRestore()))
    return restored.state, restored.meta

  def restore_params(self, kind: str, target: Any) -> Any:
    """Only the parameters of `kind` (an Orbax partial restore) shaped and placed like `target`."""
    restored = self._managers[kind].restore(self._require(kind), args=ocp.args.Composite(
        state=_restore_args({"params": target}, partial=True)))
    return restored.state["params"]

  def params_shapes(self, kind: str) -> Any:
    """The stored parameter tree of `kind` as `jax.ShapeDtypeStruct` leaves, read from metadata."""
    metadata = self._managers[kind].item_metadata(self._require(kind)).state
    return jax.tree.map(lambda m: jax.ShapeDtypeStruct(tuple(m.shape), m.dtype),
                        metadata["params"])

  def meta(self, kind: str = LATEST) -> dict[str, Any]:
    """Only the JSON meta of `kind`."""
    step = self._require(kind)
    return self._managers[kind].restore(
        step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta

  def path(self, kind: str) -> pathlib.Path:
    """The directory of the saved step of `kind`."""
    return checkpoint_dir(self.workdir, kind) / str(self._require(kind))

  def wait_until_finished(self) -> None:
    """Blocks until every pending save is on disk."""
    for manager in self._managers.values():
      manager.wait_until_finished()

  def close(self) -> None:
    """Finishes pending saves and releases the managers."""
    for manager in self._managers.values():
      manager.close()

  def _require(self, kind: str) -> int:
    step = self.step(kind)
    if step is None:
      raise FileNotFoundError(f"no {kind} checkpoint in {checkpoint_dir(self.workdir, kind)}")
    return step
