"""A second model kind in a few lines, defined here and nowhere else, goes through training,
evaluation, prediction, fine-tuning and the experiment: the proof that the seam is the only thing
the rest of the code knows about a model."""

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from polyglot_ner import __main__ as cli
from polyglot_ner import config as config_lib
from polyglot_ner import kinds
from polyglot_ner import runs
from polyglot_ner.data import corpora
from polyglot_ner.kinds import byte_crf
from polyglot_ner.study import experiment
from polyglot_ner.train import loop


class Softmax(nn.Module):
  """Each word's tag from the mean of its bytes' embeddings: no context, no CRF."""

  labels: tuple[str, ...]
  emb_dim: int = 16

  @nn.compact
  def __call__(self, batch, *, train):
    del train
    width = batch["word_bytes"].shape[1]
    in_word = jnp.arange(width) < batch["word_byte_lengths"][:, None]
    embedded = nn.Embed(256, self.emb_dim)(batch["word_bytes"]) * in_word[..., None]
    words = embedded.sum(1) / jnp.maximum(in_word.sum(1), 1)[:, None]
    return nn.Dense(len(self.labels))(words[batch["word_ids"]])  # [B, T, C]


class Kind(byte_crf.Kind):
  """The byte CRF's batches, a per-word softmax."""

  module_class = Softmax

  def loss(self, params, batch, rng, *, train):
    logits = self.module.apply({"params": params}, batch, train=train)
    gold = jnp.take_along_axis(jax.nn.log_softmax(logits), batch["tags"][..., None], -1)[..., 0]
    in_sentence = jnp.arange(gold.shape[1]) < batch["lengths"][:, None]
    return -jnp.sum(gold * in_sentence, 1), batch["lengths"] > 0

  def predict(self, params, batch):
    return jnp.argmax(self.module.apply({"params": params}, batch, train=False), -1)


@pytest.fixture
def toy(monkeypatch, tiny_config):
  """The tiny config (tests/train/conftest.py) with the toy kind."""
  monkeypatch.setitem(kinds.KINDS, "toy", __name__)

  def config(**overrides):
    result = tiny_config(**overrides)
    result.unlock()
    result.model_kind = "toy"
    result.model = ml_collections.ConfigDict({"emb_dim": 16})
    result.lock()
    return result

  return config


def test_the_toy_kind_trains_evaluates_predicts_and_fine_tunes(toy, tmp_path, capsys):
  results = loop.train_and_evaluate(toy(**{"optimizer.learning_rate": 0.1, "num_epochs": 4}),
                                    tmp_path / "poly")
  assert results["test"]["macro_f1"] > 0.1  # it learns (untrained: about 0)
  run = runs.load(tmp_path / "poly")
  assert isinstance(run.kind, Kind) and set(run.params) == {"Embed_0", "Dense_0"}
  assert run.evaluate(split="test")["macro_f1"] == results["test"]["macro_f1"]
  tokens = [["Ana", "vive", "en", "Lima"]]
  assert len(run.tag(tokens)[0]) == 4 and run.tag_text("Ana vive en Lima") == [
      list(zip(tokens[0], run.tag(tokens)[0]))]
  log_likelihood = run.log_likelihood(corpora.load_split("demo/aa", "dev")[:5])
  assert log_likelihood.shape == (5,) and np.all(log_likelihood < 0)

  child = loop.train_and_evaluate(
      toy(init_from=str(tmp_path / "poly"), **{"data.langs": {"demo/aa": 1.0}}), tmp_path / "ft")
  assert child["parent"]["workdir"] == str(tmp_path / "poly")

  (tmp_path / "in.txt").write_text("Ana vive en Lima\n")
  assert cli.main(["predict", "--workdir", str(tmp_path / "ft"), "--input",
                   str(tmp_path / "in.txt"), "--format", "text", "--output",
                   str(tmp_path / "out.txt")]) == 0
  assert len((tmp_path / "out.txt").read_text().split()) == 8  # token tag, 4 times
  capsys.readouterr()
  assert cli.main(["evaluate", "--workdir", str(tmp_path / "ft"), "--split", "dev"]) == 0
  assert json.loads(capsys.readouterr().out.splitlines()[-1])["macro_f1"] == pytest.approx(
      child["dev"]["macro_f1"])


def test_the_toy_kind_runs_the_experiment(monkeypatch, tmp_path):
  monkeypatch.setitem(kinds.KINDS, "toy", __name__)
  config = config_lib.load_config(
      "experiment.py:langs=demo/aa+demo/bb,epochs=1,ft_epochs=1,samples=20")
  with config.unlocked():
    config.model_kind = config.train.model_kind = "toy"
    config.train.model = ml_collections.ConfigDict({"emb_dim": 16})
  config.train.update(dict(
      data=dict(max_word_bytes=16, byte_buckets=(16,), length_buckets=(32,),
                max_train_sentences=32),
      batch_size=16, eval_batch_size=32, optimizer=dict(learning_rate=0.1)))
  results = experiment.run_experiment(config, tmp_path)
  assert list(results["cells"]) == ["mono", "polyglot", "finetune"]
  assert (tmp_path / "toy" / "seed0" / "demo_aa+demo_bb.ft-demo_bb" / "results.json").is_file()
