"""Runs in one process share jitted programs exactly when the traced functions are the same."""

import functools

import jax
import ml_collections

from polyglot_ner import kinds
from polyglot_ner.data import labels
from polyglot_ner.train import finetune
from polyglot_ner.train import programs
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib

MODEL = dict(byte_emb_dim=8, byte_hidden=8, word_hidden=16)
LABELS = labels.LabelMap(["LOC", "PER"])


def _kind(label_map=LABELS, **model):
  config = ml_collections.ConfigDict(dict(model_kind="byte_crf", model={**MODEL, **model}))
  return kinds.build(config, label_map)


def _optimizer(**overrides):
  return state_lib.make_optimizer(ml_collections.ConfigDict(dict(
      dict(learning_rate=1e-2, schedule="cosine", warmup_steps=0, final_lr_fraction=0.0, b1=0.9,
           b2=0.999, eps=1e-8, grad_clip_norm=5.0), **overrides)))


def test_runs_differing_only_in_their_rate_share_the_train_step():
  mesh = step_lib.make_mesh()
  step = step_lib.make_train_step(_kind(), _optimizer(), mesh)
  assert _optimizer(learning_rate=3e-3, schedule="constant", warmup_steps=9) is _optimizer()
  assert step_lib.make_train_step(_kind(), _optimizer(learning_rate=3e-3), mesh) is step
  for other in (step_lib.make_train_step(_kind(word_hidden=32), _optimizer(), mesh),
                step_lib.make_train_step(_kind(labels.LabelMap(["ORG"])), _optimizer(), mesh),
                step_lib.make_train_step(_kind(), _optimizer(b2=0.99), mesh),
                step_lib.make_train_step(_kind(), _optimizer(), step_lib.make_mesh(
                    jax.devices()[:1])),
                step_lib.make_train_step(_kind(), _optimizer(), mesh, dropout=False)):
    assert other is not step


def test_frozen_optimisers_are_shared_per_tx_and_labels():
  params = _kind().abstract_params(step_lib.make_mesh())
  tx = finetune.freeze(_optimizer(), ["^crf"], params)
  assert finetune.freeze(_optimizer(), ["^crf"], params) is tx
  assert finetune.freeze(_optimizer(), ["^word"], params) is not tx
  assert finetune.freeze(_optimizer(), [], params) is _optimizer()


def _loss(kind, params, batch):
  return kind.loss(params, batch, None, train=False)[0]


def test_predict_steps_are_shared_for_a_kinds_functions_only():
  mesh = step_lib.make_mesh()
  first, second, wider = _kind(), _kind(), _kind(word_hidden=32)
  assert step_lib.make_predict_step(second.predict, mesh) is step_lib.make_predict_step(
      first.predict, mesh)
  assert step_lib.make_predict_step(wider.predict, mesh) is not step_lib.make_predict_step(
      first.predict, mesh)
  assert step_lib.make_predict_step(first.emissions, mesh) is not step_lib.make_predict_step(
      first.predict, mesh)
  assert step_lib.make_predict_step(functools.partial(_loss, second), mesh) is (
      step_lib.make_predict_step(functools.partial(_loss, first), mesh))
  # Any other function may close over anything: never shared.
  function = lambda params, batch: first.predict(params, batch)  # noqa: E731
  assert step_lib.make_predict_step(function, mesh) is not step_lib.make_predict_step(
      function, mesh)


def test_an_unhashable_key_builds_afresh():
  assert programs.shared(("k", [1]), list) is not programs.shared(("k", [1]), list)
  assert programs.shared(("k", 1), list) is programs.shared(("k", 1), list)
