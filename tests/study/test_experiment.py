"""The experiment protocol: its plan, the runs' configs, the results, and a tiny run end to end."""

import json
import os
import pathlib

import numpy as np
import pytest

from polyglot_ner import config as config_lib
from polyglot_ner.data import corpora
from polyglot_ner.errors import UserError
from polyglot_ner.eval import conlleval
from polyglot_ner.eval import predictions as predictions_lib
from polyglot_ner.study import experiment
from polyglot_ner.study import finetune_recipe
from polyglot_ner.study import plan as run_plan



def get_config(arg=""):
  return config_lib.load_config(f"experiment.py:{arg}")


def test_plan_lays_out_every_seed_and_stage_as_the_sweep_does(tmp_path):
  config = get_config("langs=demo/bb+demo/aa,seeds=3+5")
  runs = experiment.plan(config, tmp_path)
  assert [(r.seed, r.stage, r.langs) for r in runs] == [
      (seed, stage, langs) for seed in (3, 5) for stage, langs in (
          ("mono", ("demo/aa",)), ("mono", ("demo/bb",)), ("polyglot", ("demo/aa", "demo/bb")),
          ("finetune", ("demo/aa",)), ("finetune", ("demo/bb",)))]
  assert [str(r.workdir.relative_to(tmp_path)) for r in runs[:5]] == [
      "byte_crf/seed3/demo_aa", "byte_crf/seed3/demo_bb", "byte_crf/seed3/demo_aa+demo_bb",
      "byte_crf/seed3/demo_aa+demo_bb.ft-demo_aa", "byte_crf/seed3/demo_aa+demo_bb.ft-demo_bb"]
  assert [r.parent for r in runs[3:5]] == [runs[2].workdir] * 2
  planned = run_plan.expand(config.langs, ["mono", "polyglot", "finetune"], config.seeds,
                            ["byte_crf"])
  assert [r.workdir for r in runs] == [tmp_path / p.id for p in planned]


def test_plan_of_some_stages(tmp_path):
  config = get_config("langs=demo/aa+demo/bb")
  with config.unlocked():
    config.stages = ("mono",)
    assert [r.stage for r in experiment.plan(config, tmp_path)] == ["mono", "mono"]
    config.stages = ("finetune",)  # needs its parent
    assert [r.stage for r in experiment.plan(config, tmp_path)] == [
        "polyglot", "finetune", "finetune"]
    config.stages = ("mono", "fine-tune")
    with pytest.raises(UserError, match="unknown stage.*fine-tune"):
      experiment.plan(config, tmp_path)


def test_config_arg_errors():
  with pytest.raises(UserError, match="two or more languages"):
    get_config("langs=demo/aa")
  with pytest.raises(UserError, match="seeds: expected integers"):
    get_config("langs=demo/aa+demo/bb,seeds=0+x")
  with pytest.raises(ValueError, match="unknown config arg 'lang'"):
    get_config("lang=demo/aa+demo/bb")
  with pytest.raises(UserError, match="model='nope': no config file"):
    get_config("langs=demo/aa+demo/bb,model=nope")
  config = get_config("langs=demo/aa+demo/bb,cpu,num_seeds=3,epochs=5,ft_lr=1e-4")
  assert config.seeds == (0, 1, 2) and config.train.num_epochs == 5
  assert config.finetune.num_epochs == 0 and config.finetune.learning_rate == 1e-4


@pytest.mark.parametrize("model", ["byte_crf", "charner", "bts"])
def test_the_quickstart_config_of_every_model_kind(model):
  config = get_config(f"model={model}")
  assert config.model_kind == model and config.langs == ("demo/aa", "demo/bb", "demo/cc", "demo/dd")
  assert (config.budget, config.train.batch_size, config.train.num_epochs) == ("epochs", 16, 4)


def test_converged_is_the_budget_of_real_languages():
  config = get_config("langs=demo/aa+demo/bb,cpu")
  train = config.train
  assert config.budget == "converged"
  assert (train.num_epochs, train.patience, train.min_epochs, train.max_steps) == (50, 10, 5, 0)
  assert train.optimizer.schedule == "constant"  # a cosine over the 50-epoch cap barely decays
  assert get_config("langs=demo/aa+demo/bb,epochs=80").train.num_epochs == 80  # the cap


def test_steps_and_epochs_budgets():
  steps = get_config("langs=demo/aa+demo/bb,steps=300")
  assert steps.budget == "steps" and steps.train.max_steps == 300
  assert steps.train.patience == 0 and steps.train.optimizer.schedule == "cosine"
  epochs = get_config("langs=demo/aa+demo/bb,cpu,budget=epochs,epochs=30,ft_epochs=15")
  assert (epochs.train.num_epochs, epochs.train.patience, epochs.train.max_steps) == (30, 3, 0)
  assert epochs.finetune.num_epochs == 15
  quickstart = get_config()
  assert quickstart.budget == "epochs" and quickstart.train.num_epochs == 4
  assert quickstart.finetune.num_epochs == 2


@pytest.mark.parametrize("arg,message", [
    ("budget=forever", "budget='forever': choose from converged, steps, epochs"),
    ("budget=steps", "steps=<n> .* goes with budget=steps"),
    ("budget=converged,steps=10", "steps=<n> .* goes with budget=steps"),
    ("steps=10,epochs=3", "budget=steps counts steps, not epochs"),
])
def test_budget_errors(arg, message):
  with pytest.raises(UserError, match=message):
    get_config(f"langs=demo/aa+demo/bb,{arg}")


def test_run_configs(tmp_path):
  config = get_config("langs=demo/aa+demo/bb,seeds=7")
  mono, _, polyglot, _, _ = experiment.plan(config, tmp_path)
  child = experiment.run_config(config, mono)
  assert child.seed == 7 and dict(child.data.langs) == {"demo/aa": 1.0}
  assert child.is_locked and child.optimizer == config.train.optimizer
  assert dict(experiment.run_config(config, polyglot).data.langs) == {"demo/aa": 1.0,
                                                                       "demo/bb": 1.0}
  assert dict(config.train.data.langs) == dict.fromkeys(
      ("demo/aa", "demo/bb", "demo/cc", "demo/dd"), 1.0)  # the experiment's config is left alone


def test_fine_tuning_run_config(tmp_path):
  config = get_config("langs=demo/aa+demo/bb,seeds=7,ft_epochs=2,ft_lr=1e-4")
  _, _, polyglot, finetune, _ = experiment.plan(config, tmp_path)
  tuned = experiment.run_config(config, finetune)
  assert tuned.init_from == os.fspath(polyglot.workdir)
  assert tuned.num_epochs == 2 and tuned.optimizer.learning_rate == 1e-4
  assert tuned.optimizer.b1 == config.train.optimizer.b1 and tuned.seed == 7
  assert (tuned.patience, tuned.min_epochs) == (config.train.patience, config.train.min_epochs)
  assert config.train.num_epochs != 2  # the experiment's config is left alone


def test_fine_tuning_follows_the_shared_recipe(tmp_path):
  config = get_config("langs=demo/aa+demo/bb")
  tuned = experiment.run_config(config, experiment.plan(config, tmp_path)[3])
  assert tuned.optimizer.learning_rate == (finetune_recipe.LR_FRACTION
                                           * config.train.optimizer.learning_rate)
  assert tuned.num_epochs == config.train.num_epochs


def _fake_run(run, predicted_by_lang):
  """Writes a run's results.json and test predictions without training."""
  scores = {}
  (run.workdir / "predictions" / "test").mkdir(parents=True)
  for lang, (sentences, predicted) in predicted_by_lang.items():
    predictions_lib.write_predictions(
        run.workdir / "predictions" / "test" / f"{run_plan.lang_slug(lang)}.txt",
        sentences, predicted)
    scores[lang] = conlleval.score([s.tags for s in sentences], predicted)
  results = {"test": {"per_language": scores,
                      "macro_f1": conlleval.macro_average(scores)}}
  (run.workdir / experiment.RESULTS_FILE).write_text(json.dumps(results))
  return results


def test_collect_means_stds_and_bootstrap(tmp_path):
  config = get_config("langs=demo/aa+demo/bb,seeds=0+1,samples=500")
  runs = experiment.plan(config, tmp_path)
  test = {lang: corpora.load_split(lang, "test") for lang in config.langs}
  rng = np.random.default_rng(0)

  def predict(lang, miss_rate):  # gold, with the entities of a fraction of sentences missed
    return test[lang], [list(s.tags) if rng.random() >= miss_rate else ["O"] * len(s)
                        for s in test[lang]]

  miss = {"mono": 0.4, "polyglot": 0.7, "finetune": 0.1}
  run_results = {run: _fake_run(run, {lang: predict(lang, miss[run.stage]) for lang in run.langs})
                 for run in runs}
  results = experiment.collect(config, runs, run_results, transfer={})
  f1 = {(r.stage, r.seed, lang): run_results[r]["test"]["per_language"][lang]["f1"]
        for r in runs for lang in r.langs}
  mono_aa = results["cells"]["mono"]["demo/aa"]
  assert mono_aa["seeds"]["1"]["f1"] == f1["mono", 1, "demo/aa"]
  assert mono_aa["mean"]["f1"] == pytest.approx((f1["mono", 0, "demo/aa"]
                                                 + f1["mono", 1, "demo/aa"]) / 2)
  assert mono_aa["std"]["f1"] == pytest.approx(
      abs(f1["mono", 0, "demo/aa"] - f1["mono", 1, "demo/aa"]) / np.sqrt(2))
  average = results["cells"]["polyglot"]["average"]
  assert average["seeds"]["0"]["f1"] == pytest.approx(
      (f1["polyglot", 0, "demo/aa"] + f1["polyglot", 0, "demo/bb"]) / 2)
  findings = results["significance"]["findings"]
  assert [finding["systems"] for finding in findings] == [["finetune", "mono"],
                                                          ["mono", "polyglot"]]
  for finding in findings:
    better, worse = finding["systems"]
    for lang in config.langs:
      tested = finding["per_language"][lang]
      delta = np.mean([f1[better, s, lang] - f1[worse, s, lang] for s in (0, 1)])
      assert tested["delta"] == pytest.approx(delta)
      assert tested["p_value"] < 0.01 and tested["num_seeds"] == 2
  assert results["seeds"] == [0, 1] and "transfer" not in results


def tiny_config(stages):
  """Two demo languages, 32 training sentences each, one epoch of tiny models (the programs of
  tests/conftest.py's tiny config, compiled once for both)."""
  config = get_config("langs=demo/aa+demo/bb,epochs=1,ft_epochs=1,samples=200")  # converged
  config.train.update(dict(
      model=dict(byte_emb_dim=8, byte_hidden=8, word_hidden=16),
      data=dict(max_word_bytes=16, byte_buckets=(16,), length_buckets=(32,),
                max_train_sentences=32),
      batch_size=16, eval_batch_size=32, optimizer=dict(learning_rate=1e-2)))
  with config.unlocked():
    config.stages = stages
  return config


@pytest.fixture(scope="module")
def mono_and_polyglot(tmp_path_factory):
  """(config, workdir, results) of a tiny experiment without fine-tuning."""
  config = tiny_config(("mono", "polyglot"))
  workdir = tmp_path_factory.mktemp("experiment")
  return config, workdir, experiment.run_experiment(config, workdir)


def record_training(monkeypatch, really_train):
  """Replaces the training loop with a recorder (that still trains when `really_train`)."""
  trained = []
  train = experiment.loop.train_and_evaluate

  def recorder(config, workdir):
    trained.append(pathlib.Path(workdir))
    return train(config, workdir) if really_train else None
  monkeypatch.setattr(experiment.loop, "train_and_evaluate", recorder)
  return trained


@pytest.mark.slow
def test_tiny_experiment_writes_results_and_a_rerun_trains_nothing(mono_and_polyglot,
                                                                   monkeypatch):
  config, workdir, results = mono_and_polyglot
  for name in ("results.json", "results.md", "results.png"):
    assert (workdir / name).stat().st_size > 0
  assert json.loads((workdir / "results.json").read_text()) == json.loads(json.dumps(results))
  assert list(results["cells"]) == ["mono", "polyglot"]
  # Only the finding both of whose rows ran is tested.
  assert [finding["systems"] for finding in results["significance"]["findings"]] == [
      ["mono", "polyglot"]]
  table = (workdir / "results.md").read_text()
  assert "| mono − polyglot |" in table and "polyglot+FT" not in table.split("\n", 1)[1]
  seed_dir = workdir / "byte_crf" / "seed0"
  polyglot = json.loads((seed_dir / "demo_aa+demo_bb" / "results.json").read_text())
  for lang in config.langs:
    mono = json.loads((seed_dir / run_plan.lang_slug(lang) / "results.json").read_text()
                      )["test"]["per_language"][lang]
    assert results["cells"]["mono"][lang]["mean"]["f1"] == mono["f1"]
    assert results["transfer"][lang][lang]["mean"]["f1"] == mono["f1"]
    assert results["cells"]["polyglot"][lang]["seeds"]["0"]["recall"] == (
        polyglot["test"]["per_language"][lang]["recall"])
  other = json.loads((seed_dir / "demo_aa" / experiment.TRANSFER_FILE).read_text())["demo/bb"]
  assert results["transfer"]["demo/aa"]["demo/bb"]["mean"]["f1"] == other["f1"]
  assert results["budget"] == {"name": "converged", "schedule": "constant", "max_epochs": 1,
                               "finetune_max_epochs": 1, "patience": 10, "min_epochs": 5}
  assert "| mono |" in (workdir / "results.md").read_text()
  assert "Budget (converged): every run trained until" in (workdir / "results.md").read_text()

  trained = record_training(monkeypatch, really_train=False)
  assert experiment.run_experiment(config, workdir) == results
  assert trained == []
  changed = tiny_config(("mono", "polyglot"))
  changed.train.optimizer.learning_rate = 1e-3
  with pytest.raises(UserError, match="seed0/demo_aa holds a finished run with another "
                     r"config than this experiment's \(optimizer.learning_rate: 0.01 -> 0.001\)"):
    experiment.run_experiment(changed, workdir)
  resumable = tiny_config(("mono", "polyglot"))
  resumable.train.log_every_steps = 7  # how a run is logged: not a different run
  assert experiment.run_experiment(resumable, workdir)["cells"] == results["cells"]


@pytest.mark.slow
def test_adding_fine_tuning_trains_only_the_children(mono_and_polyglot, monkeypatch):
  _, workdir, _ = mono_and_polyglot
  config = tiny_config(("mono", "polyglot", "finetune"))
  trained = record_training(monkeypatch, really_train=True)
  results = experiment.run_experiment(config, workdir)
  seed_dir = workdir / "byte_crf" / "seed0"
  assert trained == [seed_dir / "demo_aa+demo_bb.ft-demo_aa",
                     seed_dir / "demo_aa+demo_bb.ft-demo_bb"]
  assert list(results["cells"]) == ["mono", "polyglot", "finetune"]
  for finding in results["significance"]["findings"]:
    for lang in config.langs:
      assert 0 <= finding["per_language"][lang]["p_value"] <= 1
  table = (workdir / "results.md").read_text()
  assert "| polyglot+FT |" in table and "| polyglot+FT − mono |" in table
  assert "| mono − polyglot |" in table
