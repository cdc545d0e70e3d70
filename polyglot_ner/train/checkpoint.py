"""A run's Orbax checkpoints: the latest one (to resume) and the best one on dev (to evaluate).

Layout: `<workdir>/checkpoints/{latest,best}/<step>/{state,meta}`. Each slot (latest, best) is its own
`CheckpointManager`: best keeps one step, latest keeps two, so that a latest step damaged after its
save (a truncated file, a deleted manifest) still leaves the one before it to resume from.
"state" holds the `TrainState` arrays; "meta" is JSON (config, label map, languages, model kind,
git revision, dev scores, data-iterator position, loop counters, parent checkpoint). Orbax writes a
step into a temporary directory and renames it when complete, so a kill mid-save leaves the previous
step intact; saves are asynchronous, and `close` (or leaving a `with Checkpoints(...)` block) must
run on every way out of the process, or Orbax's background threads die with it in a flood of
unrelated tracebacks.

Paths are `etils.epath` paths: `gs://...` reaches Orbax untouched, a local path is made absolute
(Orbax refuses relative ones). A step that cannot be read raises `DamagedCheckpoint`, one sentence
naming the step and the missing or broken file; a save that the file system refuses (a directory
made read-only, a full disk), at once or on Orbax's threads, raises `UnwritableCheckpoint`, one
sentence naming the slot's directory, from `save` or the next call that waits for it. The steps
saved before stay intact, and the run resumes from them once the directory is writable again.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from typing import Any, Iterator

from etils import epath
import jax
import orbax.checkpoint as ocp

from polyglot_ner import errors

LATEST = "latest"
BEST = "best"
SLOTS = (LATEST, BEST)
KEEP = {LATEST: 2, BEST: 1}  # steps kept per slot
# What a readable step holds, relative to its directory; the first missing one names the damage.
LAYOUT = ("state", "state/_METADATA", "state/manifest.ocdbt", "meta", "meta/metadata")
# How Orbax and TensorStore report unreadable files: missing ones, truncated ones, missing items.
READ_ERRORS = (OSError, ValueError, KeyError)
STRAGGLER_SECONDS = 0.2  # how long the other reads of a failed restore take to fail in turn
ORBAX_LOGGER = logging.getLogger("absl")  # Orbax logs through absl
ORBAX_SOURCE = os.path.dirname(ocp.__file__)


class DamagedCheckpoint(errors.UserError):
  """A saved step whose files cannot be read (truncated, deleted)."""


class UnwritableCheckpoint(errors.UserError):
  """A save that the file system refused (a directory made read-only, a full disk); the steps
  saved before it are intact."""


class _DropFileErrorLogs(logging.Filter):
  """Orbax logs a failed save with its traceback from each thread that meets it (hundreds of
  lines, while training goes on), then raises it from the next call that waits for the save,
  which `Checkpoints` turns into one sentence: while one is open, Orbax's records of errors about
  the files (`_reason`) are dropped."""

  def filter(self, record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return not (error is not None and record.pathname.startswith(ORBAX_SOURCE)
                and _reason(error) is not None)


def run_path(path: str | os.PathLike) -> epath.Path:
  """A run's path as given on the command line or in a config: a URI (`gs://b/x`) untouched, a
  local path made absolute, so that a relative --workdir means the same thing everywhere."""
  path = epath.Path(path)
  return path if "://" in os.fspath(path) else path.resolve()


def make_workdir(workdir: epath.Path, shown: str) -> None:
  """Creates a run's workdir (`run_path`; `shown` as the user gave it), or raises a UserError
  when it is a file or not writable, before anything is compiled or trained."""
  if workdir.exists() and not workdir.is_dir():
    raise errors.UserError(f"workdir {shown} is a file, not a directory")
  try:
    workdir.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise errors.UserError(f"cannot create workdir {shown}: {e.strerror or e}") from None
  if "://" not in os.fspath(workdir) and not os.access(workdir, os.W_OK | os.X_OK):
    raise errors.UserError(f"workdir {shown} is not writable")


def checkpoint_dir(workdir: str | os.PathLike, slot: str) -> epath.Path:
  """Where a run's checkpoints of one slot live."""
  if slot not in SLOTS:
    raise errors.UserError(f"unknown checkpoint slot {slot!r}; expected one of {SLOTS}")
  return run_path(workdir) / "checkpoints" / slot


def split_path(path: str | os.PathLike) -> tuple[epath.Path, str | None, int | None]:
  """(absolute workdir, slot, step) that a checkpoint path names: `W/checkpoints/best/1234` is
  (W, best, 1234), `W/checkpoints/latest` is (W, latest, None); any other path is (it, None,
  None)."""
  given = run_path(path)
  in_slot = given.parent.name in SLOTS and given.parent.parent.name == "checkpoints"
  if given.name.isdigit() and in_slot:
    return given.parent.parent.parent, given.parent.name, int(given.name)
  if given.name in SLOTS and given.parent.name == "checkpoints":
    return given.parent.parent, given.name, None
  return given, None, None


def locate(path: str | os.PathLike, slot: str | None = None
           ) -> tuple[epath.Path, str, int | None]:
  """(absolute workdir, slot, step or None) of a run workdir (its `slot`, default best), a slot's
  directory (`W/checkpoints/latest`) or one saved step (`W/checkpoints/best/1234`); a `slot`
  other than the one a checkpoint path names is an error."""
  workdir, named, step = split_path(path)
  if not workdir.exists():  # a missing step of a run is the reader's to explain
    raise errors.NotFound(f"{os.fspath(path)} does not exist")
  if named is None:
    if not (workdir / "checkpoints").is_dir():
      raise errors.NotFound(f"{os.fspath(path)} is neither a run workdir (with a checkpoints/ "
                            "folder) nor a checkpoint path like W/checkpoints/best/<step>")
    return workdir, slot or BEST, None
  if slot not in (None, named):
    raise errors.UserError(f"{os.fspath(path)} is a {named} checkpoint, not a {slot} one")
  return workdir, named, step


def git_revision() -> str | None:
  """The source tree's git commit (with `-dirty` when modified), or None outside a checkout."""
  source = os.path.dirname(os.path.abspath(__file__))
  try:
    return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], cwd=source,
                          capture_output=True, text=True, check=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None


def _manager(directory: epath.Path, keep: int, read_only: bool) -> ocp.CheckpointManager:
  # A step's directory is created in the caller, not on a background thread: a directory that
  # cannot be written then fails `save` itself, where Orbax's writer threads would wait for it
  # (20 minutes, holding the process at exit).
  options = ocp.CheckpointManagerOptions(
      max_to_keep=keep, create=not read_only, cleanup_tmp_directories=not read_only,
      async_options=ocp.AsyncOptions(create_directories_asynchronously=False))
  handlers = {"state": ocp.PyTreeCheckpointHandler(), "meta": ocp.JsonCheckpointHandler()}
  manager = ocp.CheckpointManager(directory, item_handlers=handlers, options=options)
  # Orbax removes a killed save's temporary directories on a background thread that only its
  # first save joins, not `close`: a process ending soon after (say, on an unknown language) cuts
  # it short at interpreter exit, with a traceback ("cannot schedule new futures after interpreter
  # shutdown"). Joined here, it is gone before anything else happens.
  manager._maybe_await_cleanup_tmp_directory()  # pylint: disable=protected-access
  return manager


def _restore_args(target: Any, partial: bool = False) -> ocp.args.PyTreeRestore:
  """Restore arguments that give every leaf the shape, dtype and sharding of `target`'s leaf."""
  abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), target)
  return ocp.args.PyTreeRestore(item=abstract, partial_restore=partial,
                                restore_args=ocp.checkpoint_utils.construct_restore_args(abstract))


def _reason(error: BaseException) -> str | None:
  """The gist of an error reading a step: TensorStore's status and innermost cause (which names
  the file), without the JSON spec it appends; None for an error that is not about the files."""
  if isinstance(error, json.JSONDecodeError):
    return f"unreadable JSON ({error})"
  text = str(error).split(" [tensorstore_spec", 1)[0].strip()
  status, _, rest = text.partition(": ")
  if re.fullmatch(r"[A-Z_]+", status):
    return f"{status}: {re.split(r': (?=Error )', rest)[-1]}"
  return text if isinstance(error, OSError) else None


def _os_reason(error: BaseException) -> str | None:
  """The operating system's words for what stopped a write ("Permission denied", "No space left
  on device"): an OSError's, or those of the error code that TensorStore appends to its status;
  else the gist of a TensorStore status (`_reason`)."""
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  code = re.search(r"\[os_error_code='(\d+)'\]", str(error))
  return os.strerror(int(code.group(1))) if code else _reason(error)


@contextlib.contextmanager
def _quiet_failed_reads() -> Iterator[None]:
  """Orbax reads every array concurrently; when one read fails, its siblings fail later on their
  own threads, each printing a traceback ("Event loop is closed", "Task exception was never
  retrieved"). The first error says it all: on failure, what was printed meanwhile is dropped
  (after a moment for the stragglers); on success, it is passed on."""
  logger = logging.getLogger("asyncio")
  level, hook = logger.level, sys.unraisablehook
  printed = io.StringIO()
  logger.setLevel(logging.CRITICAL)
  sys.unraisablehook = sys.__unraisablehook__  # prints to sys.stderr, i.e. to `printed`
  try:
    with contextlib.redirect_stderr(printed):
      try:
        yield
      except BaseException:
        time.sleep(STRAGGLER_SECONDS)
        gc.collect()
        raise
  finally:
    logger.setLevel(level)
    sys.unraisablehook = hook
  sys.stderr.write(printed.getvalue())


class Checkpoints:
  """The latest and best checkpoints of one workdir; a context manager that closes them."""

  def __init__(self, workdir: str | os.PathLike, read_only: bool = False):
    """`read_only`: neither create directories nor clean up a killed save's temporary files."""
    self.workdir = run_path(workdir)
    self._quiet_saves = _DropFileErrorLogs()
    ORBAX_LOGGER.addFilter(self._quiet_saves)
    self._managers = {}
    try:
      for slot in SLOTS:
        with self._writing(slot):
          self._managers[slot] = _manager(checkpoint_dir(self.workdir, slot), KEEP[slot],
                                          read_only)
    except BaseException:
      self.close()
      raise

  def __enter__(self) -> Checkpoints:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()

  def step(self, slot: str = LATEST) -> int | None:
    """The newest saved step of `slot`, or None when there is none."""
    return self._managers[slot].latest_step()

  def steps(self, slot: str) -> list[int]:
    """Every saved step of `slot`, newest first."""
    return sorted(self._managers[slot].all_steps(), reverse=True)

  def save(self, slot: str, state: Any, meta: dict[str, Any]) -> None:
    """Starts an asynchronous save of `state` + `meta` at `state.step`; once it is committed, the
    oldest step beyond the `KEEP` of `slot` is removed.

    A step already saved is kept as it is: a resumed run that repeats a save completed before
    the interruption (e.g. "best" written, then killed before "latest") computes the same state.
    In a multi-process run, every pending save of either slot finishes first: the managers'
    background threads synchronise the processes through barriers of the same names, which must
    not overlap.
    """
    manager = self._managers[slot]
    if jax.process_count() > 1:
      self.wait_until_finished()
    else:
      with self._writing(slot):
        manager.wait_until_finished()
    step = int(jax.device_get(state.step))
    if step in manager.all_steps():
      return
    with self._writing(slot):
      manager.save(step, force=True, args=ocp.args.Composite(
          state=ocp.args.PyTreeSave(state), meta=ocp.args.JsonSave(meta)))

  def restore(self, slot: str, target: Any, step: int | None = None
              ) -> tuple[Any, dict[str, Any]]:
    """Restores (state, meta) of `slot` (its newest step, or `step`) into the structure, shapes
    and shardings of `target`."""
    restored = self._read(slot, step, lambda manager, step: manager.restore(
        step, args=ocp.args.Composite(state=_restore_args(target), meta=ocp.args.JsonRestore())))
    return restored.state, restored.meta

  def restore_params(self, slot: str, target: Any, step: int | None = None) -> Any:
    """Only the parameters of `slot` (its newest step, or `step`; an Orbax partial restore)
    shaped and placed like `target`."""
    restored = self._read(slot, step, lambda manager, step: manager.restore(
        step, args=ocp.args.Composite(state=_restore_args({"params": target}, partial=True))))
    return restored.state["params"]

  def params_shapes(self, slot: str, step: int | None = None) -> Any:
    """The stored parameter tree of `slot` (its newest step, or `step`) as
    `jax.ShapeDtypeStruct` leaves, read from metadata."""
    metadata = self._read(slot, step, lambda manager, step: manager.item_metadata(step).state)
    return jax.tree.map(lambda m: jax.ShapeDtypeStruct(tuple(m.shape), m.dtype),
                        metadata["params"])

  def meta(self, slot: str = LATEST, step: int | None = None) -> dict[str, Any]:
    """Only the JSON meta of `slot` (its newest step, or `step`)."""
    return self._read(slot, step, lambda manager, step: manager.restore(
        step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta)

  def path(self, slot: str, step: int | None = None) -> epath.Path:
    """The directory of the newest saved step of `slot` (or of `step`)."""
    return checkpoint_dir(self.workdir, slot) / str(self._require(slot) if step is None else step)

  def delete(self, slot: str, step: int) -> None:
    """Removes one saved step (a damaged one that the resumed run will save again)."""
    self._managers[slot].delete(step)

  def wait_until_finished(self) -> None:
    """Blocks until every pending save is on disk."""
    for slot, manager in self._managers.items():
      with self._writing(slot):
        manager.wait_until_finished()

  def close(self) -> None:
    """Finishes pending saves and releases every manager, then raises the first save that failed.

    Orbax raises a failed save once, from `close` too, before releasing anything: a manager whose
    `close` raised is closed again, or its threads would hold the process at exit."""
    failures = []
    for slot, manager in self._managers.items():
      try:
        with self._writing(slot):
          manager.close()
      except Exception as e:  # pylint: disable=broad-exception-caught
        failures.append(e)
        manager.close()
    ORBAX_LOGGER.removeFilter(self._quiet_saves)
    if failures:
      raise failures[0]

  def damage(self, slot: str, step: int | None = None) -> str | None:
    """`"<file> is missing"` for the first file of `LAYOUT` that the step (default: the newest of
    `slot`) lacks, else None: damage that a read of its meta alone does not notice."""
    directory = self.path(slot, step)
    missing = [name for name in LAYOUT if not (directory / name).exists()]
    return f"{missing[0]} is missing" if missing else None

  @contextlib.contextmanager
  def _writing(self, slot: str) -> Iterator[None]:
    """Raises an error of Orbax or TensorStore about the files of `slot` (a directory made
    read-only, a full disk) as an UnwritableCheckpoint naming the directory and how to go on."""
    try:
      yield
    except (OSError, ValueError) as e:
      reason = _os_reason(e)
      if reason is None:
        raise
      raise UnwritableCheckpoint(
          f"cannot write checkpoints to {checkpoint_dir(self.workdir, slot)} ({reason}); once "
          "it is writable again, rerun the same command to resume from the last checkpoint "
          "saved") from e

  def _require(self, slot: str) -> int:
    step = self.step(slot)
    if step is None:
      raise errors.NotFound(f"no {slot} checkpoint in {checkpoint_dir(self.workdir, slot)}")
    return step

  def _read(self, slot: str, step: int | None, read: Any) -> Any:
    """`read(manager, step)` of `slot`'s newest step (or `step`); an unreadable step raises
    DamagedCheckpoint naming its first missing file, else the reader's words about the file;
    other errors (a target that does not fit the stored tree) pass through."""
    step = self._require(slot) if step is None else step
    try:
      with _quiet_failed_reads():
        return read(self._managers[slot], step)
    except READ_ERRORS as e:
      directory = self.path(slot, step)
      reason = self.damage(slot, step) or _reason(e)
      if reason is None:
        raise
      raise DamagedCheckpoint(f"the {slot} checkpoint {directory} is damaged: {reason}") from e
