"""The fine-tuning recipe: the overrides of a child's config and their command-line form."""

import importlib.util
import pathlib

from polyglot_ner.study import finetune_recipe

REPO = pathlib.Path(__file__).resolve().parents[2]


def byte_crf_config(arg):
  spec = importlib.util.spec_from_file_location("configs_byte_crf", REPO / "configs" / "byte_crf.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def test_overrides_halve_the_learning_rate_and_keep_the_budget():
  train = byte_crf_config("cpu")
  assert finetune_recipe.overrides(train) == {
      "num_epochs": train.num_epochs,
      "optimizer": {"learning_rate": finetune_recipe.LR_FRACTION * train.optimizer.learning_rate}}
  assert finetune_recipe.overrides(train, num_epochs=3, learning_rate=1e-5) == {
      "num_epochs": 3, "optimizer": {"learning_rate": 1e-5}}


def test_flags_round_trip_through_a_config():
  train = byte_crf_config("cpu")
  flags = finetune_recipe.as_flags({"num_epochs": 3, "optimizer": {"learning_rate": 1e-05}})
  assert flags == ["--config.num_epochs=3", "--config.optimizer.learning_rate=1e-05"]
  train.update(finetune_recipe.overrides(train, num_epochs=3, learning_rate=1e-5))
  assert (train.num_epochs, train.optimizer.learning_rate) == (3, 1e-5)
