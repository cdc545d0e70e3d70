"""The table across model kinds, from experiment directories as far as they got."""

import json

import numpy as np
import pytest

from polyglot_ner import config as config_lib
from polyglot_ner.__main__ import main
from polyglot_ner.data import corpora
from polyglot_ner.errors import NotFound
from polyglot_ner.eval import conlleval
from polyglot_ner.eval import predictions as predictions_lib
from polyglot_ner.study import experiment
from polyglot_ner.study import models_report
from polyglot_ner.study import plan as run_plan

LANGS = ("demo/aa", "demo/bb")
MISS = {"mono": 0.4, "polyglot": 0.7, "finetune": 0.1}  # sentences whose entities a run misses


def _fake_experiment(workdir, model, finished):
  """An experiment directory whose `finished` runs have results (test predictions that miss the
  entities of a fraction of sentences); with every run finished, also W/results.json."""
  config = config_lib.load_config(f"experiment.py:langs={'+'.join(LANGS)},model={model},"
                                  "samples=300")
  workdir.mkdir()
  (workdir / "config.json").write_text(config.to_json())
  rng = np.random.default_rng(0)
  jobs, run_results = experiment.plan(config, workdir), {}
  for job in jobs[:finished]:
    scores = {}
    (job.workdir / "predictions" / "test").mkdir(parents=True)
    for lang in job.langs:
      test = corpora.load_split(lang, "test")
      predicted = [list(s.tags) if rng.random() >= MISS[job.stage] else ["O"] * len(s)
                   for s in test]
      predictions_lib.write_predictions(
          job.workdir / "predictions" / "test" / f"{run_plan.lang_slug(lang)}.txt", test,
          predicted)
      scores[lang] = conlleval.score([s.tags for s in test], predicted)
    run_results[job] = {"test": {"per_language": scores}, "steps": 300, "best_step": 200,
                        "best_epoch": 4.0, "stop_reason": "early_stopping",
                        "train_seconds": 600.0}
    (job.workdir / experiment.RESULTS_FILE).write_text(json.dumps(run_results[job]))
  if finished == len(jobs):
    (workdir / experiment.RESULTS_FILE).write_text(json.dumps(
        experiment.collect(config, jobs, run_results, transfer={})))
  return run_results


def test_a_complete_and_a_partial_experiment_in_one_table(tmp_path):
  complete = _fake_experiment(tmp_path / "crf", "byte_crf", finished=5)
  _fake_experiment(tmp_path / "charner", "charner", finished=1)  # mono aa only
  summaries = [models_report.load(tmp_path / "crf"), models_report.load(tmp_path / "charner")]
  f1 = {(job.stage, lang): results["test"]["per_language"][lang]["f1"]
        for job, results in complete.items() for lang in job.langs}
  text = models_report.markdown(summaries)
  lines = text.splitlines()
  assert lines[2] == ("| model | CRF demo/aa | CRF demo/bb | CharNER demo/aa | CharNER demo/bb |")
  mono = next(line for line in lines if line.startswith("| mono |"))
  assert mono.split(" | ")[1:3] == [f"{100 * f1['mono', lang]:.2f}" for lang in LANGS]
  assert mono.endswith(" | – |")  # CharNER's mono bb has not finished
  tested = next(line for line in lines if line.startswith("| polyglot+FT − mono |"))
  delta = 100 * (f1["finetune", "demo/aa"] - f1["mono", "demo/aa"])
  assert tested.split(" | ")[1].startswith(f"{delta:+.2f} [")
  assert tested.split(" | ")[1].endswith("p<0.0033")  # missing 10% vs 40%: never worse
  assert tested.endswith(" | – | – |")
  assert "| CharNER | mono | demo/bb | 0 | not finished |" in text
  assert "| CRF | polyglot | demo/aa+demo/bb | 0 |" in text
  assert "| 6.0 | 4.0 | early_stopping | 10 min |" in text
  assert ("- CRF, polyglot+FT better than mono: holds: demo/aa (p<0.0033), demo/bb (p<0.0033)."
          in text)
  assert "- CharNER, mono better than polyglot: not measured yet: demo/aa, demo/bb." in text


def test_the_command_prints_the_table_and_names_a_directory_that_is_no_experiment(
    tmp_path, capsys):
  _fake_experiment(tmp_path / "crf", "byte_crf", finished=2)
  assert main(["report", str(tmp_path / "crf")]) == 0
  assert "| CRF | mono | demo/bb | 0 |" in capsys.readouterr().out
  with pytest.raises(NotFound, match="is not an experiment directory: no config.json"):
    models_report.load(tmp_path)
  assert main(["report", str(tmp_path)]) == 1
  assert "polyglot-ner report: error:" in capsys.readouterr().err
