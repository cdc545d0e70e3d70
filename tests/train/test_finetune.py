"""Fine-tuning from a parent run: partial restore, dont_load, diffs, label maps, freeze, resume."""

import re

import jax
import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner import runs
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import finetune
from polyglot_ner.train import loop
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib

CHILD = {"data.langs": {"demo/aa": 1.0}}  # 64 sentences: 4 steps per epoch


class _Started(Exception):
  """Raised by the first train step, carrying the state training would start from."""

  def __init__(self, state):
    super().__init__()
    self.state = jax.tree.map(np.asarray, state)


def _initial_state(config, workdir, monkeypatch):
  """The TrainState (as numpy) that `train_and_evaluate` hands to its first train step."""
  def capturing(*args, **kwargs):
    def first_step(state, *args):
      raise _Started(state)
    return first_step
  monkeypatch.setattr(step_lib, "make_train_step", capturing)
  with pytest.raises(_Started) as started:
    loop.train_and_evaluate(config, workdir)
  return started.value.state


def _stored_params(workdir, slot=checkpoint_lib.BEST):
  """A run's `slot` parameters as numpy, read back independently of the fine-tuning code."""
  run = runs.load(workdir, slot)
  return jax.tree.map(np.asarray, run.params)


def _fresh_params(config, label_map):
  key = jax.random.split(jax.random.PRNGKey(config.seed))[0]
  return jax.tree.map(np.asarray, kinds.build(config, label_map).init_params(
      key, step_lib.make_mesh()))


def _assert_trees_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


def _flat(tree):
  return finetune.flatten(tree)


@pytest.fixture(scope="module")
def child_run(trained_run, tiny_config, tmp_path_factory):
  """(config, workdir, results): the tiny parent fine-tuned on demo/aa for 2 epochs (8 steps)."""
  _, parent_dir, _ = trained_run
  config = tiny_config(**CHILD, init_from=str(parent_dir), seed=1)
  workdir = tmp_path_factory.mktemp("child")
  return config, workdir, loop.train_and_evaluate(config, workdir)


def test_child_starts_from_the_parents_best_params_with_a_fresh_optimiser(
    trained_run, tiny_config, tmp_path, monkeypatch):
  _, parent_dir, _ = trained_run
  config = tiny_config(**CHILD, init_from=str(parent_dir), seed=1)
  state = _initial_state(config, tmp_path, monkeypatch)
  assert int(state.step) == 0
  parent = _stored_params(parent_dir)
  _assert_trees_equal(state.params, parent)
  tx = state_lib.make_optimizer(config.optimizer)
  _assert_trees_equal(state.opt_state, jax.tree.map(np.asarray, tx.init(parent)))
  fresh = _fresh_params(config, labels_lib.LabelMap.load(parent_dir / "label_map.json"))
  assert not np.array_equal(_flat(fresh)["crf/transitions"], _flat(parent)["crf/transitions"])
  assert (tmp_path / "label_map.json").read_text() == (parent_dir / "label_map.json").read_text()


def test_dont_load_keeps_a_fresh_init_of_the_matched_subtrees(trained_run, tiny_config, tmp_path,
                                                              monkeypatch):
  _, parent_dir, _ = trained_run
  best = checkpoint_lib.Checkpoints(parent_dir, read_only=True).path(checkpoint_lib.BEST)
  config = tiny_config(**CHILD, init_from=str(best), dont_load=("^crf/", "^output/"), seed=1)
  state = _initial_state(config, tmp_path, monkeypatch)
  params, parent = _flat(state.params), _flat(_stored_params(parent_dir))
  fresh = _flat(_fresh_params(config, labels_lib.LabelMap.load(tmp_path / "label_map.json")))
  reset = {path for path in params if path.startswith(("crf/", "output/"))}
  assert reset == {"crf/transitions", "output/kernel", "output/bias"}
  for path, value in params.items():
    expected = fresh[path] if path in reset else parent[path]
    np.testing.assert_array_equal(value, expected, err_msg=path)
    if path in reset and path != "output/bias":  # a zero-initialised bias is the same anywhere
      assert not np.array_equal(value, parent[path]), path


def test_a_tree_mismatch_is_a_readable_diff_suggesting_dont_load(trained_run, tiny_config,
                                                                 tmp_path, monkeypatch):
  parent_config, parent_dir, _ = trained_run
  config = tiny_config(**CHILD, init_from=str(parent_dir), **{"model.word_hidden": 24})
  label_map = labels_lib.LabelMap.load(parent_dir / "label_map.json")
  before = finetune.shapes(_fresh_params(parent_config, label_map))
  after = finetune.shapes(_fresh_params(config, label_map))
  differing = sorted(path for path in after if before[path] != after[path])
  assert differing and {path.split("/")[0] for path in differing} == {"word_encoder", "output"}
  with pytest.raises(errors.UserError) as error:
    loop.train_and_evaluate(config, tmp_path / "mismatch")
  message = str(error.value)
  assert f"{len(differing)} difference(s), parent vs child" in message
  for path in differing:
    assert re.search(rf"^  {re.escape(path)} +{re.escape(str(before[path]))} +"
                     rf"{re.escape(str(after[path]))}$", message, re.M), path
  assert "--config.dont_load=\"('^output/', '^word_encoder/')\"" in message

  ok = tiny_config(**CHILD, init_from=str(parent_dir), **{"model.word_hidden": 24},
                   dont_load=("^output/", "^word_encoder/"))
  params = _flat(_initial_state(ok, tmp_path / "ok", monkeypatch).params)
  np.testing.assert_array_equal(params["byte_embedding/embedding"],
                                _flat(_stored_params(parent_dir))["byte_embedding/embedding"])


def test_a_missing_or_extra_path_is_in_the_diff():
  rows = finetune.tree_diff({"a/w": (2, 3), "b/w": (4,)}, {"a/w": (2, 3), "c/w": (5,)})
  assert rows == [("b/w", (4,), None), ("c/w", None, (5,))]
  assert finetune.format_diff(rows).splitlines() == [
      "  path  parent   child", "  b/w   (4,)     missing", "  c/w   missing  (5,)"]


def test_bad_fine_tuning_configs_name_the_key(trained_run, tiny_config, tmp_path):
  _, parent_dir, _ = trained_run
  cases = [
      ({"dont_load": ("^crf/",)}, errors.UserError,
       r"config\.dont_load applies only when fine-tuning"),
      ({"init_from": str(parent_dir), "dont_load": ("^crff/",)}, errors.UserError,
       r"config\.dont_load: \['\^crff/'\] match no parameter; .*'byte_embedding'"),
      ({"init_from": str(parent_dir), "freeze": ("(",)}, errors.UserError,
       r"config\.freeze: '\(' is not a regex"),
      ({"init_from": str(tmp_path / "nowhere")}, errors.NotFound,
       r"config\.init_from: .*nowhere does not exist"),
      ({"init_from": str(parent_dir / "checkpoints" / "best" / "12345")}, errors.NotFound,
       r"config\.init_from: .*best holds step\(s\) \[\d+\], not 12345"),
  ]
  for i, (overrides, error, pattern) in enumerate(cases):
    with pytest.raises(error, match=pattern):
      loop.train_and_evaluate(tiny_config(**CHILD, **overrides), tmp_path / str(i))


@pytest.fixture(scope="module")
def parent_without_misc(tiny_config, tmp_path_factory):
  """A one-step parent trained with MISC mapped to O (7 tags)."""
  config = tiny_config(**{"data.type_map": {"MISC": "O"}, "data.max_train_sentences": 8,
                          "num_epochs": 1})
  workdir = tmp_path_factory.mktemp("parent_without_misc")
  loop.train_and_evaluate(config, workdir)
  return workdir


def test_tags_unknown_to_the_parent_are_an_error_suggesting_dont_load(parent_without_misc,
                                                                      tiny_config, tmp_path):
  config = tiny_config(**CHILD, init_from=str(parent_without_misc))
  with pytest.raises(ValueError) as error:
    loop.train_and_evaluate(config, tmp_path)
  message = str(error.value)
  assert "training tags unknown to the parent's label map" in message
  assert "demo/aa: ['B-MISC', 'I-MISC']" in message
  assert "['crf/transitions', 'output/bias', 'output/kernel']" in message
  assert "--config.dont_load=\"('^crf/', '^output/')\"" in message
  assert not (tmp_path / "label_map.json").exists()


def test_with_dont_load_new_tags_extend_the_parents_label_map(parent_without_misc, tiny_config,
                                                              tmp_path, monkeypatch):
  parent_map = labels_lib.LabelMap.load(parent_without_misc / "label_map.json")
  assert "B-MISC" not in parent_map.tags
  config = tiny_config(**CHILD, init_from=str(parent_without_misc),
                       dont_load=("^crf/", "^output/"))
  state = _initial_state(config, tmp_path, monkeypatch)
  child_map = labels_lib.LabelMap.load(tmp_path / "label_map.json")
  assert child_map.tags == labels_lib.LabelMap(set(parent_map.types) | {"MISC"}).tags
  assert state.params["output"]["kernel"].shape[-1] == len(child_map) == len(parent_map) + 2


def test_a_child_inherits_tags_its_own_data_lacks(trained_run, tiny_config, tmp_path, monkeypatch):
  _, parent_dir, _ = trained_run
  config = tiny_config(**CHILD, init_from=str(parent_dir), **{"data.type_map": {"MISC": "O"}})
  _initial_state(config, tmp_path, monkeypatch)
  child_map = labels_lib.LabelMap.load(tmp_path / "label_map.json")
  assert child_map == labels_lib.LabelMap.load(parent_dir / "label_map.json")
  assert "B-MISC" in child_map.tags  # a run trained from scratch on this data would lack it


def test_child_meta_and_results_record_the_parent(trained_run, child_run):
  _, parent_dir, _ = trained_run
  _, workdir, results = child_run
  parent_checkpoints = checkpoint_lib.Checkpoints(parent_dir, read_only=True)
  parent_meta = parent_checkpoints.meta(checkpoint_lib.BEST)
  expected = {"workdir": str(parent_dir.resolve()),
              "checkpoint": str(parent_checkpoints.path(checkpoint_lib.BEST).resolve()),
              "slot": "best", "step": parent_meta["step"], "languages": ["demo/aa", "demo/bb"],
              "dev_scores": parent_meta["dev_scores"], "parent": None}
  for slot in checkpoint_lib.SLOTS:
    assert checkpoint_lib.Checkpoints(workdir, read_only=True).meta(slot)["parent"] == expected
  assert results["parent"] == expected


def test_an_interrupted_child_resumes_from_its_own_checkpoint(child_run, tmp_path, monkeypatch,
                                                             interrupt_at):
  config, reference_dir, reference = child_run
  with interrupt_at(5):  # the latest checkpoint is the evaluation at step 4
    loop.train_and_evaluate(config, tmp_path)
  monkeypatch.setattr(finetune.Parent, "load", None)  # resuming must not look at the parent
  resumed = loop.train_and_evaluate(config, tmp_path)
  for slot in checkpoint_lib.SLOTS:
    _assert_trees_equal(_stored_params(tmp_path, slot), _stored_params(reference_dir, slot))
  assert resumed["test"] == reference["test"] and resumed["parent"] == reference["parent"]


def test_frozen_parameters_stay_bitwise_equal_to_the_parents(trained_run, tiny_config, tmp_path):
  _, parent_dir, _ = trained_run
  config = tiny_config(**CHILD, init_from=str(parent_dir), num_epochs=1,
                       freeze=("^byte_embedding/", "^byte_encoder/"))
  loop.train_and_evaluate(config, tmp_path)
  parent, child = _flat(_stored_params(parent_dir)), _flat(_stored_params(tmp_path,
                                                                          checkpoint_lib.LATEST))
  for path in parent:
    if path.startswith(("byte_embedding/", "byte_encoder/")):
      np.testing.assert_array_equal(child[path], parent[path], err_msg=path)
    else:
      assert not np.array_equal(child[path], parent[path]), path
