"""The training loop: `train_and_evaluate(config, workdir)`, used by `polyglot-ner train`.

One call trains a model on a language mixture for `num_epochs` epochs (or exactly `max_steps`
steps), evaluates it on every language's dev set after each epoch (or every `eval_every_steps`) and
at the last step, stops early when dev macro F1 has not improved for `patience` evaluations (once
`min_epochs` epochs are done), keeps the latest and the best-on-dev checkpoints, and finally scores
the best one on every language's test set (`results.json`, per-language test predictions in
`predictions/`). A loss that blows up stops the run (`Diverged`), naming the step and languages.

Running the same command again resumes from the newest intact checkpoint (latest or best: both
metas hold everything): parameters, optimiser state, step, the data iterator's position, the loop's
counters and the dev history all come back, and the dropout keys are a function of (seed, step), so
the run ends with exactly the parameters of an uninterrupted one (on the same number of devices). A
damaged checkpoint is skipped with a warning naming it. A finished run just returns its results.

With `config.init_from`, a fresh run starts from another run's checkpoint with its label map
(`polyglot_ner.train.finetune`: `dont_load`, `freeze`, the parent recorded in the meta).

Multi-process runs (`polyglot_ner.train.distributed`) run this same function in every process:
each packs only its devices' rows of every batch (`data.pipeline`), every process saves
checkpoints (Orbax coordinates them), only process 0 writes the other files.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import os
import sys
import time
from typing import Any, Callable, Mapping

from absl import logging
from etils import epath
import jax
from jax.experimental import multihost_utils
import ml_collections
import numpy as np

from polyglot_ner import config as config_lib
from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import mixture as mixture_lib
from polyglot_ner.data import pipeline
from polyglot_ner.data import tags as tags_lib
from polyglot_ner.eval import predictions as predictions_lib
from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import compilation_cache
from polyglot_ner.train import distributed
from polyglot_ner.train import finetune
from polyglot_ner.train import inference
from polyglot_ner.train import metrics as metrics_lib
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib

LABEL_MAP_FILE = "label_map.json"
CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"

# Config keys that may change between an interrupted run and its resumption: they do not change
# what is computed, only how it is run or logged.
RESUMABLE_CHANGES = ("checkpoint_every_steps", "log_every_steps", "eval_batch_size", "data.root")

# Divergence: a loss above SPIKE x the median of the last WINDOW ordinary ones (or above
# LOSS_BOUND, per sentence: an untrained model starts near length x log(tags), a few hundred) for
# PATIENCE steps in a row; likewise the gradient norm, relative to its own median.
WINDOW, SPIKE, PATIENCE, LOSS_BOUND = 50, 100.0, 5, 1e6


class Diverged(errors.UserError, FloatingPointError):
  """The training loss went non-finite or blew up: the learning rate is too high for this run."""


@dataclasses.dataclass
class LoopState:
  """The loop's counters, saved in every checkpoint's meta so that a resumed run continues them."""

  evals: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # step, epoch, macro_f1
  best_step: int = -1
  best_macro_f1: float = -1.0
  evals_since_best: int = 0
  stop_reason: str = ""  # "" while training, then "early_stopping", "max_epochs" or "max_steps"
  train_seconds: float = 0.0


def _flat_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  flat = {}
  for key, value in config.items():
    if isinstance(value, Mapping) and key not in ("langs", "type_map"):  # dicts of data: whole
      flat.update(_flat_config(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def config_differences(recorded: Mapping[str, Any], config: ml_collections.ConfigDict
                       ) -> tuple[str, ...]:
  """`"key: recorded -> wanted"` for every key whose change changes what a run computes."""
  old = _flat_config(config_lib.recorded(recorded))
  new = _flat_config(json.loads(config.to_json()))
  return tuple(f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
               for key in sorted(set(old) | set(new))
               if key not in RESUMABLE_CHANGES and old.get(key) != new.get(key))


def _check_same_run(saved: Mapping[str, Any], config: ml_collections.ConfigDict,
                    workdir: epath.Path) -> None:
  """A workdir resumes only the run it holds: any other config difference is an error."""
  differences = config_differences(saved, config)
  if differences:
    raise errors.UserError(f"{workdir} holds a run with another config "
                           f"({'; '.join(differences)}); resume it with the same config or train "
                           "in a new --workdir")


def _label_map(workdir: epath.Path, train: Mapping[str, list[conll.Sentence]],
               build: Callable[[], labels_lib.LabelMap]) -> labels_lib.LabelMap:
  """The run's label map: the one saved in `workdir`, else `build()` (then saved there)."""
  path = workdir / LABEL_MAP_FILE
  saved = path.exists()
  label_map = labels_lib.LabelMap.from_json(path.read_text()) if saved else build()
  for name, sentences in train.items():
    missing = label_map.missing(tag for s in sentences for tag in s.tags)
    if missing:
      raise errors.UserError(f"{name}: training tags {missing} are not in the label map {path}")
  if jax.process_index() == 0 and not saved:
    partial = path.with_name(path.name + ".tmp")  # other processes never see a half-written map
    partial.write_text(label_map.to_json() + "\n")
    partial.replace(path)
  return label_map


def _warn(message: str) -> None:
  """A line on stderr from process 0 (the console shows no absl logging)."""
  if jax.process_index() == 0:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _warn_untrained_types(label_map: labels_lib.LabelMap,
                          evaluated: Mapping[str, Mapping[str, list[conll.Sentence]]],
                          root: str | None, type_map: Mapping[str, str] | None) -> None:
  """A line per entity type of a dev or test set (`evaluated[split][language]`) that the label map
  lacks: the model can never predict it, so every such entity is scored as missed."""
  for split, sets in evaluated.items():
    for name, sentences in sets.items():
      types = {tags_lib.entity_type(tag) for s in sentences for tag in s.tags}
      types -= {None, *label_map.types}
      if types:
        where = corpora.type_locations(name, split, types, root, type_map=type_map)
        for type_ in sorted(types):
          _warn(f"{where[type_]}: entity type {type_} ({name} {split}) is not in the training "
                f"data: the model cannot predict it, so every {type_} entity counts as missed")


def _warn_starting_over(workdir: epath.Path, shown: str) -> None:
  """A workdir holding a run's records but no checkpoint (`checkpoints/` deleted) trains from
  step 0 and replaces them: say so rather than start over silently."""
  records = [name for name in (RESULTS_FILE, metrics_lib.METRICS_FILE) if (workdir / name).exists()]
  if records:
    _warn(f"{shown} holds {' and '.join(records)} but no checkpoint to resume from: training "
          "starts over from step 0")


class _Resume:
  """Picks the checkpoint a run resumes from: the newest step of either slot that reads back
  (a best step's meta holds the same data position and counters as a latest one of that step)."""

  def __init__(self, checkpoints: checkpoint_lib.Checkpoints, config: ml_collections.ConfigDict):
    """Reads every step's meta; a config other than the saved one is a UserError now, before
    anything is loaded or written."""
    self._checkpoints = checkpoints
    self._damaged: list[tuple[int, str, checkpoint_lib.DamagedCheckpoint]] = []
    self._readable: list[tuple[int, str]] = []  # (step, slot) whose meta reads back, newest first
    steps = sorted(((step, slot) for slot in checkpoint_lib.SLOTS
                    for step in checkpoints.steps(slot)),
                   key=lambda pair: (-pair[0], checkpoint_lib.SLOTS.index(pair[1])))
    for step, slot in steps:
      try:
        meta = checkpoints.meta(slot, step)
      except checkpoint_lib.DamagedCheckpoint as e:
        self._damaged.append((step, slot, e))
        continue
      _check_same_run(meta["config"], config, checkpoints.workdir)
      self._readable.append((step, slot))
    self.found = bool(steps)

  def restore(self, target: Any) -> tuple[Any, dict[str, Any]]:
    """(state, meta) of the newest intact step. Damaged steps newer than it are deleted (the run
    saves them again) with a warning each; none intact is a UserError naming them."""
    for step, slot in self._readable:
      try:
        state, meta = self._checkpoints.restore(slot, target, step)
      except checkpoint_lib.DamagedCheckpoint as e:
        self._damaged.append((step, slot, e))
        continue
      for damaged_step, damaged_slot, error in sorted(self._damaged, reverse=True):
        _warn(f"skipping step {damaged_step}: {error}")
        if damaged_step > step:
          self._checkpoints.delete(damaged_slot, damaged_step)
      return state, meta
    workdir = self._checkpoints.workdir
    raise errors.UserError(
        f"no intact checkpoint to resume {workdir} from ("
        + "; ".join(str(error) for _, _, error in self._damaged)
        + f"); to start over, delete {workdir} or train in a new --workdir")


def _batch_languages(counts: np.ndarray, languages: tuple[str, ...]) -> list[str]:
  """The languages of a batch's `step.make_batch_counts`."""
  return sorted(languages[i] for i in np.flatnonzero(counts[:len(languages)]))


class Spikes:
  """Watches one training number for a blow-up: `add(value)` is True once it has been above
  SPIKE x the median of the last WINDOW ordinary values (or above `bound`) PATIENCE times in a
  row. Values over the line never enter the median, so a blow-up cannot raise its own bar."""

  def __init__(self, bound: float = math.inf):
    self._bound = bound
    self._recent: collections.deque[float] = collections.deque(maxlen=WINDOW)
    self._run = 0

  @property
  def median(self) -> float | None:
    """The median of the recent ordinary values (None before the first)."""
    return float(np.median(self._recent)) if self._recent else None

  def add(self, value: float) -> bool:
    """Records `value`; True when the number has diverged."""
    median = self.median
    if value > self._bound or (median is not None and value > SPIKE * median):
      self._run += 1
    else:
      self._run = 0
      self._recent.append(value)
    return self._run >= PATIENCE


class _StepLog:
  """Training losses fetched one step late (so the host never stalls the device), checked for
  finiteness and blow-ups (`Spikes`), averaged over `every` steps into metrics.jsonl and shown on
  the progress bar, with the fraction of the loop's time spent waiting for input and the learning
  rate the step was given (`state.learning_rates`)."""

  def __init__(self, writer: metrics_lib.MetricWriter, progress: metrics_lib.Progress,
               learning_rates: np.ndarray, languages: tuple[str, ...], every: int):
    self._writer, self._progress, self._learning_rates = writer, progress, learning_rates
    self._languages = languages
    self._every = max(every, 1)
    self._pending: tuple[int, dict[str, jax.Array], jax.Array] | None = None
    self._losses: list[float] = []
    self._waited = self._seconds = 0.0
    self._spikes = {"loss": Spikes(LOSS_BOUND), "gradient norm": Spikes()}

  def add(self, step: int, metrics: dict[str, jax.Array], counts: jax.Array, *,
          started: float, waited: float):
    """Queues step `step`'s device metrics and reports the previous step's; the step's loop
    iteration began at `started` (`time.perf_counter()`) and waited `waited` seconds for its
    batch. It ends here, once the previous step's metrics are back: the device's time counts."""
    self.flush()
    self._waited += waited
    self._seconds += time.perf_counter() - started
    self._pending = (step, metrics, counts)

  def flush(self):
    """Reports the queued step: raises Diverged on a non-finite or blown-up loss."""
    if self._pending is None:
      return
    step, metrics, counts = self._pending
    self._pending = None
    metrics, counts = jax.device_get((metrics, counts))
    loss = float(metrics["loss"])
    if not math.isfinite(loss):
      raise Diverged(
          f"non-finite training loss {loss} at step {step}; the batch held sentences of "
          f"{_batch_languages(counts, self._languages)}")
    for name, value in (("loss", loss), ("gradient norm", float(metrics["grad_norm"]))):
      spikes = self._spikes[name]
      median = spikes.median
      if spikes.add(value):
        raise Diverged(
            f"training diverged at step {step}: {name} {value:.3g} for {PATIENCE} steps in a row "
            f"(median of the steps before {'-' if median is None else f'{median:.3g}'}, "
            f"learning rate {self._learning_rates[step - 1]:.3g}); the batch held sentences of "
            f"{_batch_languages(counts, self._languages)}; lower config.optimizer.learning_rate")
    self._losses.append(loss)
    self._progress.update(int(np.sum(counts[:-1])), int(counts[-1]), loss)
    if step % self._every == 0:
      self._writer.write(step, "train", {
          "loss": float(np.mean(self._losses)), "grad_norm": float(metrics["grad_norm"]),
          "learning_rate": float(self._learning_rates[step - 1]),
          "input_wait_fraction": self._waited / max(self._seconds, 1e-9),
          **self._progress.rates()})
      self._losses = []
      self._waited = self._seconds = 0.0


def _dev_record(scores: Mapping[str, Any]) -> dict[str, Any]:
  """The compact form of dev scores for metrics.jsonl."""
  return {"macro_f1": scores["macro_f1"], "micro_f1": scores["micro"]["f1"],
          "per_language": {name: {k: s[k] for k in ("precision", "recall", "f1")}
                           for name, s in scores["per_language"].items()}}


def _write_predictions(workdir: epath.Path, split: str, sets: Mapping[str, inference.EvalSet],
                       predicted: Mapping[str, list[list[str]]]) -> None:
  for name, eval_set in sets.items():
    path = predictions_lib.predictions_path(workdir, split, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    predictions_lib.write_predictions(path, eval_set.sentences, predicted[name])


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | os.PathLike
                       ) -> dict[str, Any]:
  """Trains (or resumes) the run of `config` in `workdir` (local, relative or `gs://`); returns the
  test results of its best dev checkpoint (also written to `<workdir>/results.json`)."""
  distributed.maybe_initialize()
  compilation_cache.enable()
  mesh = step_lib.make_mesh()
  config_lib.check_training(config)
  step_lib.check_batch_size(config.batch_size, mesh)
  shown = os.fspath(workdir)
  workdir = checkpoint_lib.run_path(workdir)
  checkpoint_lib.make_workdir(workdir, shown)
  with checkpoint_lib.Checkpoints(workdir) as checkpoints:
    return _train(config, workdir, shown, mesh, checkpoints)


def _train(config: ml_collections.ConfigDict, workdir: epath.Path, shown: str,
           mesh: jax.sharding.Mesh, checkpoints: checkpoint_lib.Checkpoints) -> dict[str, Any]:
  """`train_and_evaluate` once its checkpoints are open; `shown` is the workdir as given."""
  is_main = jax.process_index() == 0
  resume = _Resume(checkpoints, config)
  if not resume.found:
    _warn_starting_over(workdir, shown)
  parent = (finetune.Parent.load(config.init_from) if config.init_from and not resume.found
            else None)

  mixture = mixture_lib.Mixture(dict(config.data.langs), config.data.mode, config.data.alpha)
  languages = mixture.names
  root = config.data.root or None
  type_map = dict(config.data.type_map) or None
  train_sets = mixture.load("train", root, type_map=type_map)
  if config.data.max_train_sentences:
    train_sets = {name: s[:config.data.max_train_sentences] for name, s in train_sets.items()}
  # Every split is read, and so checked, before the first step: a bad test file must not surface
  # after hours of training.
  dev, test = (mixture.load(split, root, type_map=type_map) for split in ("dev", "test"))

  def shapes_for(candidate: labels_lib.LabelMap) -> finetune.Shapes:
    return finetune.shapes(kinds.build(config, candidate).abstract_params(mesh))

  def new_label_map() -> labels_lib.LabelMap:
    if parent:
      return finetune.child_label_map(parent, train_sets, config.dont_load, shapes_for)
    return labels_lib.LabelMap.from_sentences(s for group in train_sets.values() for s in group)

  label_map = _label_map(workdir, train_sets, new_label_map)
  _warn_untrained_types(label_map, {"dev": dev, "test": test}, root, type_map)
  kind = kinds.build(config, label_map)
  train_batches = kind.train_batches(train_sets, mixture, seed=config.seed, num_shards=mesh.size)
  steps_per_epoch = train_batches.batches_per_epoch
  total_steps = config.max_steps or config.num_epochs * steps_per_epoch

  params_rng, dropout_rng = jax.random.split(jax.random.PRNGKey(config.seed))
  params = kind.init_params(params_rng, mesh)
  if parent:
    params = finetune.load_params(parent, params, config.dont_load)
    logging.info("initialised from %s (dont_load %s)", parent.checkpoint, config.dont_load)
  tx = finetune.freeze(state_lib.make_optimizer(config.optimizer), config.freeze, params)
  learning_rates = state_lib.learning_rates(config.optimizer, total_steps)
  state = step_lib.replicate(state_lib.create_train_state(params, tx, dropout_rng), mesh)

  loop, dev_scores, data_state = LoopState(), None, None
  parent_record = parent.record() if parent else None
  if resume.found:
    state, saved = resume.restore(state)
    data_state = saved["data_state"]
    loop, dev_scores = LoopState(**saved["loop"]), saved["dev_scores"]
    parent_record = saved["parent"]
    if saved.get("device_count", jax.device_count()) != jax.device_count():
      _warn(f"{shown} was trained on {saved['device_count']} devices and resumes on "
            f"{jax.device_count()}: its parameters will differ from an uninterrupted run's")
  if is_main:
    (workdir / CONFIG_FILE).write_text(config.to_json(indent=2) + "\n")

  results_path = workdir / RESULTS_FILE
  if loop.stop_reason and results_path.exists():
    return json.loads(results_path.read_text())

  tagger = inference.Tagger(kind, mesh, config.eval_batch_size)
  dev_sets = inference.eval_sets(tagger, dev, languages)

  revision = checkpoint_lib.git_revision()

  def meta(step: int) -> dict[str, Any]:
    return {"step": step, "epoch": step / steps_per_epoch, "config": json.loads(config.to_json()),
            "model_kind": config.model_kind, "languages": list(languages),
            "label_map": json.loads(label_map.to_json()),
            "git_revision": revision, "device_count": jax.device_count(),
            "dev_scores": dev_scores, "data_state": train_data.get_state(),
            "loop": dataclasses.asdict(loop), "parent": parent_record}

  step = int(state.step)
  if resume.found and is_main:
    print(f"resuming {shown} from step {step} (epoch {step / steps_per_epoch:.2f})", flush=True)
  train_step = step_lib.make_train_step(kind, tx, mesh)
  eval_every = config.eval_every_steps or steps_per_epoch
  writer = metrics_lib.MetricWriter(workdir, resume_step=step, enabled=is_main)
  progress = metrics_lib.Progress(total_steps, step, enabled=is_main)
  step_log = _StepLog(writer, progress, learning_rates, languages, config.log_every_steps)
  train_data = pipeline.TrainIterator(train_batches, part=step_lib.process_part(),
                                      agree=step_lib.make_process_max(mesh))
  batch_counts = step_lib.make_batch_counts(mesh, len(languages))
  started = time.perf_counter()
  try:
    if data_state is not None:
      train_data.set_state(data_state)
    while not loop.stop_reason:
      tick, waited = time.perf_counter(), train_data.wait_seconds
      batch = step_lib.shard_part(next(train_data), mesh)
      waited = train_data.wait_seconds - waited
      state, step_metrics = train_step(state, batch, learning_rates[step])
      step += 1
      step_log.add(step, step_metrics, batch_counts(batch), started=tick, waited=waited)
      at_eval = step % eval_every == 0 or step == total_steps
      if not (at_eval or step % config.checkpoint_every_steps == 0):
        continue
      step_log.flush()
      if at_eval:
        dev_scores, _ = inference.evaluate(tagger, state.params, dev_sets)
        macro_f1 = dev_scores["macro_f1"]
        loop.evals.append({"step": step, "epoch": step / steps_per_epoch, "macro_f1": macro_f1})
        writer.write(step, "dev", _dev_record(dev_scores))
        progress.write(f"step {step} (epoch {step / steps_per_epoch:.2f}): dev macro F1 "
                       f"{macro_f1:.4f}")
        if macro_f1 > loop.best_macro_f1:
          loop.best_step, loop.best_macro_f1, loop.evals_since_best = step, macro_f1, 0
        else:
          loop.evals_since_best += 1
        if (config.patience and loop.evals_since_best >= config.patience
            and step >= config.min_epochs * steps_per_epoch):
          loop.stop_reason = "early_stopping"
        elif step == total_steps:
          loop.stop_reason = "max_steps" if config.max_steps else "max_epochs"
      loop.train_seconds += time.perf_counter() - started
      started = time.perf_counter()
      if at_eval and loop.best_step == step:
        checkpoints.save(checkpoint_lib.BEST, state, meta(step))
      checkpoints.save(checkpoint_lib.LATEST, state, meta(step))
  finally:
    train_data.close()
    progress.close()
    writer.close()
    checkpoints.wait_until_finished()

  train_rows = _rows_per_process(train_data.rows, languages)
  results = _test_results(config, checkpoints, tagger, mixture, test, workdir, loop, step,
                          steps_per_epoch)
  results["train_rows_per_process"] = train_rows
  if is_main:
    results_path.write_text(json.dumps(results, indent=2) + "\n")
  return results


def _rows_per_process(rows: Mapping[int, int], languages: tuple[str, ...]
                      ) -> dict[str, list[int]]:
  """Each language's training rows (sentences, or windows) that each process packed, from each
  process's `TrainIterator.rows` (a resumed run counts from its restart); a collective."""
  local = np.array([rows[i] for i in range(len(languages))], np.int32)
  gathered = np.asarray(multihost_utils.process_allgather(local)).reshape(-1, len(languages))
  return {name: gathered[:, i].tolist() for i, name in enumerate(languages)}


def _test_results(config: ml_collections.ConfigDict,
                  checkpoints: checkpoint_lib.Checkpoints, tagger: inference.Tagger,
                  mixture: mixture_lib.Mixture, test: Mapping[str, list[conll.Sentence]],
                  workdir: epath.Path, loop: LoopState,
                  steps: int, steps_per_epoch: int) -> dict[str, Any]:
  """Scores the best dev checkpoint on every language's test set and writes its predictions."""
  params = checkpoints.restore_params(checkpoint_lib.BEST,
                                      tagger.kind.abstract_params(tagger.mesh))
  best_meta = checkpoints.meta(checkpoint_lib.BEST)
  test_sets = inference.eval_sets(tagger, test, mixture.names)
  test_scores, predicted = inference.evaluate(tagger, params, test_sets)
  if jax.process_index() == 0:
    _write_predictions(workdir, "test", test_sets, predicted)
  return {"languages": list(mixture.names), "best_step": loop.best_step,
          "best_epoch": loop.best_step / steps_per_epoch, "stop_reason": loop.stop_reason,
          "steps": steps,
          "train_seconds": loop.train_seconds, "dev": best_meta["dev_scores"], "test": test_scores,
          "dev_history": loop.evals, "parent": best_meta["parent"],
          "config": json.loads(config.to_json())}
