"""CharNER as a model kind: it trains, evaluates, tags and fine-tunes through the same code as the
byte CRF; its loss is the mean over every byte of the global batch on 1 and 4 devices; its
decoding is jit-compiled and sharded."""

import logging

import jax
import numpy as np
import pytest

from polyglot_ner import config as config_lib
from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner import runs
from polyglot_ner.analysis import examples as examples_lib
from polyglot_ner.data import byte_stream
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture as mixture_lib
from polyglot_ner.kinds import charner as charner_kind
from polyglot_ner.kinds.charner import decode
from polyglot_ner.kinds.charner import model as charner
from polyglot_ner.train import loop
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib

# Demo sentences have at most 89 bytes: one padded shape everywhere.
TINY = {
    "model.emb_dim": 8, "model.hidden": 8, "model.output_dropout": (0.1, 0.1),
    "model.emb_dropout": 0.1, "data.length_buckets": (96,), "data.max_train_sentences": 64,
    "batch_size": 16, "eval_batch_size": 32, "optimizer.learning_rate": 3e-2, "num_epochs": 4,
    "patience": 0, "checkpoint_every_steps": 10, "log_every_steps": 4,
}


def tiny_config(**overrides):
  """configs/charner.py on two demo languages at tiny sizes, then `overrides` ("a.b" keys)."""
  config = config_lib.load_config("charner.py:langs=demo/aa+demo/bb")
  config.update_from_flattened_dict({**TINY, **overrides})
  return config


def test_charner_trains_evaluates_tags_and_fine_tunes(tmp_path):
  results = loop.train_and_evaluate(tiny_config(), tmp_path / "poly")
  assert results["test"]["macro_f1"] > 0.15  # it learns (untrained: about 0)
  run = runs.load(tmp_path / "poly")
  assert isinstance(run.kind, charner_kind.Kind)
  assert set(run.params) == {"byte_embedding", "layer_0", "layer_1", "output"}
  assert run.params["output"]["kernel"].shape == (16, len(run.label_map.types) + 1)
  assert run.evaluate(split="test")["macro_f1"] == results["test"]["macro_f1"]
  tokens = [["Ana", "vive", "en", "Lima"], ["x"]]
  tagged = run.tag(tokens)
  assert [len(tags) for tags in tagged] == [4, 1]
  assert run.tag_text("Ana vive en Lima\nx") == [list(zip(t, tags)) for t, tags in
                                                 zip(tokens, tagged)]
  with pytest.raises(errors.UserError, match="run.marginals needs a model kind with "
                     "StructuredOutput, and the 'charner' kind does not declare it"):
    run.marginals(tokens)
  assert examples_lib.model(run.kind, run.params).sample_labels is None  # no true Fisher

  child = loop.train_and_evaluate(
      tiny_config(init_from=str(tmp_path / "poly"), num_epochs=1,
                  **{"data.langs": {"demo/aa": 1.0}}), tmp_path / "ft")
  assert child["parent"]["workdir"] == str(tmp_path / "poly")
  assert runs.load(tmp_path / "ft").label_map == run.label_map  # the parent's byte classes


def test_the_config_has_the_papers_settings_and_smaller_presets():
  paper = config_lib.load_config("charner.py")
  assert dict(paper.model) == dict(emb_dim=128, emb_std=0.0, emb_dropout=0.2, hidden=128,
                                   output_dropout=(0.5, 0.5, 0.5, 0.5, 0.8), tf_forget_bias=True,
                                   scoring="log_prob")
  assert (paper.optimizer.learning_rate, paper.optimizer.schedule, paper.optimizer.grad_clip_norm,
          paper.batch_size) == (1e-3, "constant", 1.0, 32)
  cpu = config_lib.load_config("charner.py:cpu")
  assert (cpu.model.hidden, len(cpu.model.output_dropout), cpu.model.emb_std) == (64, 3, 1.0)
  cpu_paper = config_lib.load_config("charner.py:cpu,paper")
  assert cpu_paper.model.output_dropout == (0.5, 0.5, 0.8) and cpu_paper.model.emb_dropout == 0.2
  assert cpu_paper.model.emb_std == 0.0  # the published Glorot-uniform embedding
  assert cpu_paper.optimizer.learning_rate == 1e-3 and cpu_paper.model.hidden == 64
  for config in (paper, cpu, cpu_paper):  # every model key is a field of the module
    assert set(config.model) == set(charner_kind.Kind.config_fields())


def test_the_experiment_config_builds_charner_runs():
  config = config_lib.load_config(
      "experiment.py:langs=conll2002/es+conll2002/nl,cpu,model=charner")
  assert config.model_kind == config.train.model_kind == "charner"
  assert config.train.model.scoring == "log_prob"


@pytest.fixture(scope="module")
def setup():
  """A one-layer kind, its parameters, a global batch (the same for 1 and 4 devices: byte rows
  carry no per-shard tables) and its logits."""
  sentences = corpora.load_split("demo/bb", "train")[:13]  # 13 real rows + 3 empty rows
  label_map = labels.LabelMap.from_sentences(sentences)
  kind = kinds.build(tiny_config(**{"model.output_dropout": (0.1,)}), label_map)
  batches = {shards: next(iter(kind.train_batches({"demo/bb": sentences}, None, seed=0,
                                                  num_shards=shards))) for shards in (1, 4)}
  for key in batches[1]:
    np.testing.assert_array_equal(batches[1][key], batches[4][key])
  tx = state_lib.make_optimizer(kind.config.optimizer)
  params = kind.init_params(jax.random.PRNGKey(0), step_lib.make_mesh())
  state = jax.device_get(state_lib.create_train_state(params, tx, jax.random.PRNGKey(1)))
  batch = batches[1]
  logits = jax.jit(lambda p, b: kind.module.apply({"params": p}, b, train=False))(
      state.params, batch)
  return kind, tx, state, batch, np.asarray(logits)


def _word_tags(logits, batch, scoring):
  """The decoder's word tags of `logits`, outside the kind."""
  labels_, _ = jax.jit(decode.viterbi, static_argnames="scoring")(
      logits, batch["lengths"], batch["kinds"], scoring=scoring)
  return np.asarray(jax.jit(decode.word_tags)(labels_, batch["kinds"]))


def test_the_loss_is_the_mean_over_all_bytes_on_one_and_four_devices(setup):
  kind, tx, state, batch, logits = setup
  losses = []
  for devices in (jax.devices()[:1], jax.devices()):
    mesh = step_lib.make_mesh(devices)
    train_step = step_lib.make_train_step(kind, tx, mesh, dropout=False)
    _, metrics = train_step(step_lib.replicate(state, mesh), step_lib.shard_batch(batch, mesh),
                            np.float32(kind.config.optimizer.learning_rate))
    losses.append(float(metrics["loss"]))
  # Independently: the paper's sequence_loss, every real byte's cross-entropy over their number.
  logits = logits.astype(np.float64)
  log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  real = np.arange(batch["bytes"].shape[1]) < batch["lengths"][:, None]
  gold = np.take_along_axis(log_probs, batch["labels"][..., None], -1)[..., 0]
  expected = -gold[real].mean()
  assert batch["lengths"].min() == 0 and len(set(batch["lengths"][:13])) > 1
  np.testing.assert_allclose(losses, [expected, expected], rtol=1e-5)


def test_decoding_is_jitted_sharded_and_gives_the_viterbi_word_tags(setup):
  kind, _, state, batch, logits = setup
  tags = []
  for devices in (jax.devices()[:1], jax.devices()):
    mesh = step_lib.make_mesh(devices)
    predict = step_lib.make_predict_step(kind.predict, mesh)
    tags.append(np.asarray(predict(step_lib.replicate(state.params, mesh),
                                   step_lib.shard_batch(batch, mesh))))
  np.testing.assert_array_equal(tags[0], tags[1])
  np.testing.assert_array_equal(tags[1], _word_tags(logits, batch, "log_prob"))
  assert tags[1].shape == (16, decode.max_words(batch["bytes"].shape[1]))


def test_scoring_is_a_config_switch_and_a_bad_one_a_user_error(setup):
  kind, _, state, batch, logits = setup
  config = kind.config.copy_and_resolve_references()
  config.model.scoring = "prob"
  prob = kinds.build(config, kind.label_map)
  assert prob.module.scoring == "prob" and kind.module.scoring == "log_prob"
  np.testing.assert_array_equal(jax.jit(prob.predict)(state.params, batch),
                                _word_tags(logits, batch, "prob"))
  config.model.scoring = "probs"
  with pytest.raises(errors.UserError, match=r"config.model.scoring: unknown scoring 'probs'"):
    kinds.build(config, kind.label_map)


def test_training_truncates_and_says_so_once_evaluation_does_not(setup, caplog):
  kind = setup[0]
  sentences = corpora.load_split("demo/bb", "train")[:64]
  sizes = [len(byte_stream.sentence_bytes(s)[0]) for s in sentences]
  short = tiny_config(**{"data.length_buckets": (32, 64)})
  short_kind = kinds.build(short, kind.label_map)
  with caplog.at_level(logging.WARNING):
    batches = short_kind.train_batches({"demo/bb": sentences}, mixture_lib.Mixture(
        {"demo/bb": 1.0}), seed=0, num_shards=4)
  expected = sum(size > 64 for size in sizes)
  assert batches.num_truncated == expected > 0
  warnings = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
  assert warnings == [f"truncated {expected} of 64 training sentences to 64 bytes"]
  data = short_kind.eval_batches(sentences, lang=0, batch_size=16, num_shards=4)
  assert max(int(b["lengths"].max()) for b in data) == max(sizes) > 64


def test_the_loss_weights_rows_by_their_bytes(setup):
  kind, _, state, batch, logits = setup
  losses, real = jax.jit(lambda p, b: kind.loss(p, b, None, train=False))(state.params, batch)
  sums, counts = charner.byte_cross_entropy(logits, batch["labels"], batch["lengths"])
  np.testing.assert_allclose(losses * real, sums, rtol=1e-5)
  np.testing.assert_array_equal(real, counts)
  assert np.all(np.asarray(losses)[batch["lengths"] == 0] == 0)
