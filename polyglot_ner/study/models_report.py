"""The paper's main table across model kinds: one experiment workdir per kind, one table.

  polyglot-ner report runs/exp_conll_conv runs/exp_charner_conv runs/exp_bts_conv

Rows mono / polyglot / polyglot+FT, a column group per model kind (its experiment's languages),
then per kind the paired bootstrap of the paper's two findings; a table of every run (test F1,
epochs, best epoch, why it stopped, training time); and one verdict per kind and finding. An
experiment is read as far as it got: its plan comes from `W/config.json`, each run's scores from
its own `results.json` (runs still training show as "–"), and the bootstrap from `W/results.json`,
which the experiment writes once every run has finished.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import ml_collections
import numpy as np

from polyglot_ner.errors import NotFound
from polyglot_ner.eval import bootstrap
from polyglot_ner.study import experiment
from polyglot_ner.study import report as experiment_report

KIND_NAMES = {"byte_crf": "CRF", "charner": "CharNER", "bts": "BTS"}
MISSING = "–"
SIGNIFICANT = 0.05


@dataclasses.dataclass(frozen=True)
class Summary:
  """One experiment as far as it got: its finished runs' results and, when complete, its own."""

  workdir: pathlib.Path
  model_kind: str
  langs: tuple[str, ...]
  runs: tuple[tuple[experiment.Job, dict[str, Any] | None], ...]  # (job, results or None)
  results: dict[str, Any] | None  # W/results.json

  @property
  def name(self) -> str:
    return KIND_NAMES.get(self.model_kind, self.model_kind)

  def f1(self, stage: str, lang: str) -> float | None:
    """Test F1 of `stage` on `lang`, the mean over finished seeds; None when none finished."""
    scores = [results["test"]["per_language"][lang]["f1"] for job, results in self.runs
              if results is not None and job.stage == stage and lang in job.langs]
    return float(np.mean(scores)) if scores else None

  def finding(self, better: str, worse: str) -> dict[str, Any] | None:
    """The bootstrap of "`better` beats `worse`" per language, once the experiment is complete."""
    findings = (self.results or {}).get("significance", {}).get("findings", [])
    return next((f["per_language"] for f in findings if f["systems"] == [better, worse]), None)


def load(workdir: str | pathlib.Path) -> Summary:
  """The experiment in `workdir` (written by `polyglot-ner experiment`) as far as it got."""
  workdir = pathlib.Path(workdir)
  config_file = workdir / "config.json"
  if not config_file.is_file():
    raise NotFound(f"{workdir} is not an experiment directory: no config.json (it is written "
                   "when `polyglot-ner experiment` starts)")
  config = ml_collections.ConfigDict(json.loads(config_file.read_text()))
  runs = []
  for job in experiment.plan(config, workdir):
    path = job.workdir / experiment.RESULTS_FILE
    runs.append((job, json.loads(path.read_text()) if path.is_file() else None))
  results_file = workdir / experiment.RESULTS_FILE
  return Summary(workdir, config.model_kind, tuple(config.langs), tuple(runs),
                 json.loads(results_file.read_text()) if results_file.is_file() else None)


def _percent(value: float | None) -> str:
  return MISSING if value is None else f"{100 * value:.2f}"


def _difference(summary: Summary, better: str, worse: str, lang: str) -> str:
  tested = summary.finding(better, worse)
  if tested and lang in tested:
    s = tested[lang]
    return (f"{100 * s['delta']:+.2f} [{100 * s['ci_low']:+.2f}, {100 * s['ci_high']:+.2f}] "
            f"{bootstrap.format_p_value(s['p_value'], s['num_samples'])}")
  a, b = summary.f1(better, lang), summary.f1(worse, lang)
  return MISSING if a is None or b is None else f"{100 * (a - b):+.2f} (untested)"


def verdict(summary: Summary, better: str, worse: str) -> str:
  """One sentence: where "`better` beats `worse`" holds (p < 0.05), holds in direction only,
  reverses, or is not measured yet."""
  tested = summary.finding(better, worse) or {}
  groups: dict[str, list[str]] = {"holds": [], "in direction": [], "reverses": [],
                                  "not measured yet": []}
  for lang in summary.langs:
    a, b = summary.f1(better, lang), summary.f1(worse, lang)
    if a is None or b is None:
      groups["not measured yet"].append(lang)
    elif lang in tested and tested[lang]["p_value"] < SIGNIFICANT:
      s = tested[lang]
      groups["holds"].append(f"{lang} ({bootstrap.format_p_value(s['p_value'], s['num_samples'])})")
    else:
      groups["in direction" if a > b else "reverses"].append(lang)
  names = experiment_report.ROW_NAMES
  said = "; ".join(f"{how}: {', '.join(langs)}" for how, langs in groups.items() if langs)
  return f"{summary.name}, {names[better]} better than {names[worse]}: {said}."


def _epochs(results: Mapping[str, Any]) -> tuple[float, float]:
  """(epochs trained, best-dev epoch) of a run's results."""
  per_step = results["best_epoch"] / results["best_step"] if results["best_step"] > 0 else 0.0
  return results["steps"] * per_step, results["best_epoch"]


def runs_table(summaries: Sequence[Summary]) -> list[str]:
  """A row per run: test F1 per language, epochs, best epoch, why it stopped, training time."""
  rows = []
  for summary in summaries:
    for job, results in summary.runs:
      row = [summary.name, experiment_report.ROW_NAMES.get(job.stage, job.stage),
             "+".join(job.langs), str(job.seed)]
      if results is None:
        rows.append(row + ["not finished"] + [MISSING] * 4)
        continue
      epochs, best = _epochs(results)
      f1 = " / ".join(_percent(results["test"]["per_language"][lang]["f1"]) for lang in job.langs)
      rows.append(row + [f1, f"{epochs:.1f}", f"{best:.1f}", results["stop_reason"],
                         f"{results['train_seconds'] / 60:.0f} min"])
  return experiment_report.table(
      ["model", "row", "languages", "seed", "test F1", "epochs", "best epoch", "stopped by",
       "training"], rows)


def markdown(summaries: Sequence[Summary]) -> str:
  """The main table, the runs table and the verdicts."""
  header, rows = ["model"], {stage: [experiment_report.ROW_NAMES[stage]]
                             for stage in experiment.STAGES}
  differences = {finding: [f"{experiment_report.ROW_NAMES[finding[0]]} − "
                           f"{experiment_report.ROW_NAMES[finding[1]]}"]
                 for finding in experiment.FINDINGS}
  for summary in summaries:
    for lang in summary.langs:
      header.append(f"{summary.name} {lang}")
      for stage, row in rows.items():
        row.append(_percent(summary.f1(stage, lang)))
      for finding, row in differences.items():
        row.append(_difference(summary, *finding, lang))
  lines = ["Test span F1 (%, conlleval) of each run's best dev checkpoint (mean over finished "
           "seeds). A row `A − B` gives the paired bootstrap's F1 difference, its interval and "
           "the one-sided p that A is not better than B (once the experiment is complete; "
           "before that the plain difference, untested).", ""]
  lines += experiment_report.table(header, [*rows.values(), *differences.values()])
  lines += ["", "Every run:", ""] + runs_table(summaries) + [""]
  lines += [f"- {verdict(summary, *finding)}" for summary in summaries
            for finding in experiment.FINDINGS]
  return "\n".join(lines) + "\n"
