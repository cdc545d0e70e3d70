"""Byte-to-Span through everything the byte CRF goes through: training, evaluation (with the counts
of entities no window holds), prediction through the runs API and the commands, fine-tuning from
a polyglot parent, and the experiment's config."""

import importlib
import json
import pathlib

import numpy as np
import pytest

from polyglot_ner import __main__ as cli
from polyglot_ner import config as config_lib
from polyglot_ner import kinds
from polyglot_ner import runs
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.kinds import bts as bts_kind
from polyglot_ner.study import experiment
from polyglot_ner.train import loop

# Tiny sizes; one target shape (demo windows of 32 bytes hold at most 8 entities).
TINY = {
    "model.window": 32, "model.byte_emb_dim": 8, "model.num_layers": 1, "model.hidden": 16,
    "model.output_emb_dim": 8, "model.max_spans": 8, "data.eval_stride": 16,
    "data.span_buckets": (8,), "data.max_train_sentences": 64, "batch_size": 16,
    "eval_batch_size": 32, "optimizer.name": "adam", "optimizer.learning_rate": 1e-2,
    "optimizer.schedule": "constant", "num_epochs": 2, "patience": 0,
    "checkpoint_every_steps": 3, "log_every_steps": 2,
}
NOTES = {"entities", "entities_longer_than_window", "entities_in_no_window"}
REPO = pathlib.Path(__file__).resolve().parents[3]


def _config(**overrides):
  config = config_lib.load_config("bts.py:langs=demo/aa+demo/bb")
  config.update_from_flattened_dict({**TINY, **overrides})
  return config


def test_bts_trains_evaluates_predicts_and_fine_tunes(tmp_path, capsys):
  results = loop.train_and_evaluate(_config(), tmp_path / "poly")
  scores = results["test"]["per_language"]["demo/aa"]
  assert NOTES <= set(scores) and scores["entities"] > 0
  assert 0.0 <= results["test"]["macro_f1"] <= 1.0 and results["steps"] > 0

  run = runs.load(tmp_path / "poly")
  assert isinstance(run.kind, bts_kind.Kind)
  assert set(run.params) == {"byte_embedding", "encoder", "decoder", "output_embedding",
                             "projection"}
  assert run.evaluate(split="test")["macro_f1"] == results["test"]["macro_f1"]
  tokens = [["Ana", "vive", "en", "Lima"], ["x"] * 30]
  tagged = run.tag(tokens)
  assert [len(t) for t in tagged] == [4, 30]
  assert all(tag == "O" or tag[:2] in ("B-", "I-") for tags in tagged for tag in tags)
  assert run.tag_text("Ana vive en Lima") == [list(zip(tokens[0], tagged[0]))]

  # A row is a window: per-window outputs go to the sentence each window starts in.
  sentences = corpora.load_split("demo/aa", "dev")[:20]
  data = run.kind.eval_batches(sentences, lang=0, batch_size=32, num_shards=run.mesh.size)
  per_window = [np.asarray(b["lengths"]) for b in data]
  owned = run.kind.per_sentence(data, per_window)
  assert len(owned) == 20 and sum(map(len, owned)) == len(data.starts)
  assert np.concatenate(owned).tolist() == np.concatenate(per_window)[
      np.concatenate(data.indices) >= 0].tolist()
  log_likelihood = run.log_likelihood(next(iter(data)))
  assert log_likelihood.shape == (32,) and np.all(log_likelihood[:len(data.starts)] < 0)

  child = loop.train_and_evaluate(
      _config(init_from=str(tmp_path / "poly"), **{"data.langs": {"demo/aa": 1.0}}),
      tmp_path / "ft")
  assert child["parent"]["workdir"] == str(tmp_path / "poly")
  assert runs.load(tmp_path / "ft").label_map == run.label_map

  (tmp_path / "in.txt").write_text("Ana vive en Lima\n")
  assert cli.main(["predict", "--workdir", str(tmp_path / "ft"), "--input",
                   str(tmp_path / "in.txt"), "--format", "text", "--output",
                   str(tmp_path / "out.txt")]) == 0
  assert len((tmp_path / "out.txt").read_text().split()) == 8  # token tag, 4 times
  capsys.readouterr()
  assert cli.main(["evaluate", "--workdir", str(tmp_path / "ft"), "--split", "dev"]) == 0
  printed = json.loads(capsys.readouterr().out.splitlines()[-1])
  assert printed["macro_f1"] == pytest.approx(child["dev"]["macro_f1"])
  assert printed["per_language"]["demo/aa"]["entities_in_no_window"] == (
      child["dev"]["per_language"]["demo/aa"]["entities_in_no_window"])


def test_the_kind_builds_from_every_preset_and_the_experiment_config():
  label_map = labels.LabelMap(["LOC", "MISC", "ORG", "PER"])
  for arg in ("", "cpu", "cpu,paper"):
    kind = kinds.build(config_lib.load_config(f"bts.py:{arg}"), label_map)
    assert kind.vocabulary.size == 126 and kind.module.window == 60
  assert kinds.kind_class("bts").config_fields() == (
      "window", "byte_emb_dim", "num_layers", "hidden", "output_emb_dim", "emb_std", "init_scale",
      "byte_dropout", "dropout", "tf_forget_bias", "max_spans", "constrained_decoding",
      "position_inputs")
  config = config_lib.load_config(
      "experiment.py:langs=conll2002/es+conll2002/nl,cpu,model=bts,root=../shared/data")
  assert config.model_kind == "bts" and config.train.model.hidden == 128
  planned = experiment.plan(config, "W")
  child = experiment.run_config(config, planned[-1])
  assert child.init_from
  assert child.optimizer.learning_rate == config.train.optimizer.learning_rate / 2


def test_the_cpu_preset_changes_the_initialisation_and_paper_restores_it():
  cpu, cpu_paper = (config_lib.load_config(f"bts.py:{arg}") for arg in ("cpu", "cpu,paper"))
  assert (cpu.model.emb_std, cpu.model.tf_forget_bias) == (1.0, False)
  assert (cpu_paper.model.emb_std, cpu_paper.model.tf_forget_bias) == (0.0, True)
  assert config_lib.load_config("bts.py").model.emb_std == 0.0


def test_a_sweep_plans_bts_runs(tmp_path, monkeypatch):
  monkeypatch.syspath_prepend(str(REPO / "launch"))  # launch/ holds scripts, not a package
  sweep = importlib.import_module("sweep")
  planned = sweep.expand(["conll2002/es", "conll2002/nl"], ["mono", "polyglot", "finetune"], [0],
                         ["bts"], root=str(tmp_path), preset="cpu",
                         configs_dir=str(REPO / "configs"))
  assert [run.model for run in planned] == ["bts"] * 5
  child, learning_rate = planned[-1], config_lib.load_config("bts.py:cpu").optimizer.learning_rate
  assert child.init_from and f"--config.optimizer.learning_rate={learning_rate / 2!r}" in (
      child.command)
