"""The paper's protocol for one model kind and one language set, per seed: one monolingual model
per language, one polyglot model on all the languages, and one fine-tuned child of the polyglot
model per language (`init_from` = the polyglot workdir: its best dev checkpoint's parameters and
label map). These are the designs mono, polyglot and finetune of launch/sweep.py, planned and named
by `polyglot_ner.study.plan`, with the experiment's workdir W as the root:

  W/<model_kind>/seed<s>/<lang>                      mono, e.g. W/byte_crf/seed0/conll2002_es
  W/<model_kind>/seed<s>/<langs>                     polyglot (`<langs>`: sorted, joined by "+")
  W/<model_kind>/seed<s>/<langs>.ft-<lang>           polyglot fine-tuned on one language

The polyglot run trains on its languages in that sorted order; the table keeps `config.langs`'.

Every run is `polyglot_ner.train.loop.train_and_evaluate` in its own workdir, so each is scored on
its languages' test sets with its best-on-dev checkpoint, and an interrupted run resumes. A run
whose workdir holds `results.json` of the same config is finished and is not touched again; one of
another config is an error (`polyglot_ner.study.finished`). How long each run trains is
`config.budget` (configs/experiment.py); fine-tuned runs follow `polyglot_ner.study.finetune_recipe`.
With `config.transfer`, each monolingual model is also scored on every other language's test set
(a zero-shot transfer matrix, cached in the run's `transfer.json`).

`run_experiment` then writes `W/results.json` (every run's test P/R/F1, mean and std over seeds per
row and language, a paired bootstrap per language for each of the paper's two findings, the
transfer matrix),
`W/results.md` and `W/results.png` (`polyglot_ner.study.report`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pathlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import ml_collections
import numpy as np

from polyglot_ner import runs as runs_lib
from polyglot_ner.errors import UserError
from polyglot_ner.eval import bootstrap
from polyglot_ner.eval import predictions as predictions_lib
from polyglot_ner.study import finetune_recipe
from polyglot_ner.study import finished as finished_runs
from polyglot_ner.study import plan as run_plan
from polyglot_ner.study import report as experiment_report
from polyglot_ner.train import loop

STAGES = ("mono", "polyglot", "finetune")
# The paper's two findings as (A, B): "A is better than B", each tested per language.
FINDINGS = (("finetune", "mono"), ("mono", "polyglot"))
RESULTS_FILE = loop.RESULTS_FILE  # a finished run's results; also the experiment's own
TRANSFER_FILE = "transfer.json"
METRICS = ("precision", "recall", "f1")
COUNTS = ("found", "correct", "gold")  # kept per seed, so the table prints conlleval's digits
AVERAGE = experiment_report.AVERAGE


@dataclasses.dataclass(frozen=True)
class Job:
  """One training job of the protocol: a mono, polyglot or fine-tuned run to train."""

  stage: str
  seed: int
  langs: tuple[str, ...]
  workdir: pathlib.Path
  parent: pathlib.Path | None = None  # the run whose best checkpoint this one fine-tunes

  @property
  def name(self) -> str:
    return f"seed {self.seed} {self.stage}" + (f" {self.langs[0]}" if self.stage != "polyglot"
                                               else "")


def plan(config: ml_collections.ConfigDict, workdir: str | os.PathLike) -> list[Job]:
  """The runs of the experiment (`run_plan.expand`), each after the run it fine-tunes."""
  unknown = [stage for stage in config.stages if stage not in STAGES]
  if unknown:
    raise UserError(f"config.stages: unknown stage(s) {unknown}; choose from {STAGES}")
  if len(set(config.langs)) != len(config.langs) or len(config.langs) < 2:
    raise UserError(f"config.langs: need two or more distinct languages, got {config.langs}")
  root = pathlib.Path(workdir)
  # With two or more languages the designs share no run, so each run has one design: its stage.
  return [Job(planned.designs[0], planned.seed, planned.langs, root / planned.id,
              root / planned.parent if planned.parent else None)
          for planned in run_plan.expand(config.langs, config.stages, config.seeds,
                                         [config.model_kind])]


def run_config(config: ml_collections.ConfigDict, run: Job) -> ml_collections.ConfigDict:
  """The training config of one run: `config.train` with its seed and languages, and for a
  fine-tuned run `init_from` = its parent's workdir and the fine-tuning recipe's overrides."""
  child = copy.deepcopy(config.train)
  child.seed = run.seed
  child.data.langs = {lang: 1.0 for lang in run.langs}
  if run.parent is not None:
    if "init_from" not in child:
      raise UserError(f"fine-tuning needs the key `init_from` in the {config.model_kind} "
                      "training config (config.train), which it lacks")
    child.init_from = os.fspath(run.parent)
    child.update(finetune_recipe.overrides(child, num_epochs=config.finetune.num_epochs,
                                           learning_rate=config.finetune.learning_rate))
  return child


def _transfer_scores(config: ml_collections.ConfigDict, run: Job) -> dict[str, dict[str, float]]:
  """Test P/R/F1 of a mono run on every language (cached in its workdir's transfer.json)."""
  path = run.workdir / TRANSFER_FILE
  cached = json.loads(path.read_text()) if path.is_file() else {}
  own = json.loads((run.workdir / RESULTS_FILE).read_text())["test"]["per_language"]
  scores = {lang: cached.get(lang) or own.get(lang) for lang in config.langs}
  missing = [lang for lang, score in scores.items() if score is None]
  if missing:
    scores.update(runs_lib.load(run.workdir).evaluate(missing, split="test")["per_language"])
    path.write_text(json.dumps(scores, indent=2) + "\n")
  return {lang: {key: score[key] for key in METRICS + COUNTS} for lang, score in scores.items()}


def _test_counts(run: Job, lang: str) -> np.ndarray:
  """Per-sentence (correct, found, gold) of a run's test predictions for `lang`."""
  path = predictions_lib.predictions_path(run.workdir, "test", lang)
  sentences, predicted = predictions_lib.read_predictions(path)
  return bootstrap.sentence_counts([s.tags for s in sentences], predicted)


def _cell(per_seed: Mapping[int, Mapping[str, float]]) -> dict[str, Any]:
  """One table cell: scores per seed, and their mean and std per metric."""
  stats = {key: experiment_report.mean_std([scores[key] for scores in per_seed.values()])
           for key in METRICS}
  return {"seeds": {str(seed): dict(scores) for seed, scores in per_seed.items()},
          "mean": {key: mean for key, (mean, _) in stats.items()},
          "std": {key: std for key, (_, std) in stats.items()}}


def collect(config: ml_collections.ConfigDict, runs: Sequence[Job],
            run_results: Mapping[Job, Mapping[str, Any]],
            transfer: Mapping[Job, Mapping[str, Mapping[str, float]]]) -> dict[str, Any]:
  """The experiment's results (the content of W/results.json) from its finished runs."""
  langs, seeds = list(config.langs), list(config.seeds)
  stages = [stage for stage in STAGES if stage in config.stages]
  by_stage = {stage: {} for stage in stages}  # stage -> lang -> seed -> P/R/F1
  for run in runs:
    if run.stage not in by_stage:
      continue  # a polyglot run that only exists as a fine-tuning parent
    per_language = run_results[run]["test"]["per_language"]
    for lang in run.langs:
      by_stage[run.stage].setdefault(lang, {})[run.seed] = {
          key: per_language[lang][key] for key in METRICS + COUNTS}
  cells = {}
  for stage, per_lang in by_stage.items():
    cells[stage] = {lang: _cell(per_lang[lang]) for lang in langs}
    cells[stage][AVERAGE] = _cell({seed: {key: float(np.mean([per_lang[lang][seed][key]
                                                              for lang in langs]))
                                          for key in METRICS} for seed in seeds})
  results = {"model_kind": config.model_kind, "langs": langs, "seeds": seeds, "stages": stages,
             "budget": budget_record(config),
             "metric": "test span F1 (conlleval) of each run's best dev checkpoint",
             "cells": cells}
  significance = _significance(config, runs)
  if significance["findings"]:
    results["significance"] = significance
  if transfer:
    results["transfer"] = {
        lang: {test_lang: _cell({run.seed: scores[test_lang] for run, scores in transfer.items()
                                 if run.langs == (lang,)}) for test_lang in langs}
        for lang in langs}
  results["config"] = json.loads(config.to_json())
  return results


def budget_record(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """How long the runs trained: `config.budget` and the training keys that carry it out."""
  train = config.train
  record = {"name": config.budget, "schedule": train.optimizer.schedule}
  if config.budget == "steps":
    record["steps"] = train.max_steps
  else:
    record.update(max_epochs=train.num_epochs,
                  finetune_max_epochs=config.finetune.num_epochs or train.num_epochs,
                  patience=train.patience, min_epochs=train.min_epochs)
  return record


def _significance(config: ml_collections.ConfigDict, runs: Sequence[Job]) -> dict[str, Any]:
  """A paired bootstrap per language for each of the paper's findings whose two rows the
  experiment has (`FINDINGS`), seeds paired (see eval.bootstrap)."""
  options = config.bootstrap
  tested = [finding for finding in FINDINGS if set(finding) <= set(config.stages)]
  # Each run's test predictions are read once, however many findings use them.
  counts = {(stage, lang): np.stack([_test_counts(run, lang) for run in runs
                                     if run.stage == stage and lang in run.langs])  # seed order
            for stage in {stage for finding in tested for stage in finding}
            for lang in config.langs}
  findings = []
  for better, worse in tested:
    per_lang = {lang: dataclasses.asdict(bootstrap.paired_bootstrap(
        counts[better, lang], counts[worse, lang], num_samples=options.num_samples,
        seed=options.seed, confidence=options.confidence)) for lang in config.langs}
    findings.append({"systems": [better, worse], "per_language": per_lang})
  return {"test": "paired bootstrap over test sentences, seed-matched; for systems [A, B], "
          "p = fraction of samples with F1(A) - F1(B) <= 0",
          "num_samples": options.num_samples, "confidence": options.confidence,
          "findings": findings}


def run_experiment(config: ml_collections.ConfigDict, workdir: str | os.PathLike
                   ) -> dict[str, Any]:
  """Trains what is not finished yet, then writes W/results.{json,md,png}; returns the results."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "config.json").write_text(config.to_json(indent=2) + "\n")
  runs = plan(config, workdir)
  run_results, transfer = {}, {}
  for index, run in enumerate(runs, 1):
    prefix = f"[{index}/{len(runs)}] {run.name}"
    status = finished_runs.status(run.workdir, run_config(config, run))
    if status.stale:
      raise UserError(f"{run.workdir} holds a finished run with another config than this "
                      f"experiment's ({'; '.join(status.differences)}); use a new --workdir or "
                      "restore the config")
    if status.finished:
      run_results[run] = status.results
      done = "finished earlier"
    else:
      print(f"{prefix}: training in {run.workdir}", flush=True)
      started = time.perf_counter()
      run_results[run] = loop.train_and_evaluate(run_config(config, run), run.workdir)
      done = f"trained in {time.perf_counter() - started:.0f} s"
    print(f"{prefix}: {done}, test macro F1 {100 * run_results[run]['test']['macro_f1']:.2f}",
          flush=True)
    if config.transfer and run.stage == "mono":
      transfer[run] = _transfer_scores(config, run)
  results = collect(config, runs, run_results, transfer)
  (workdir / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
  (workdir / "results.md").write_text(experiment_report.markdown(results))
  experiment_report.plot(results, workdir / "results.png")
  return results
