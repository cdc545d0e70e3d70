"""Shared fixtures of the training tests: a tiny config on the demo corpus and one trained run.

Compiling dominates these tests, so the tiny config compiles to as few programs as possible, and
the same ones in every test: a constant learning rate (a schedule's constants depend on the run's
step count) and one padded shape (tests/conftest.py caches what is compiled across processes).
"""

import pytest

from polyglot_ner import config_files

# Tiny sizes and one padded shape per program: demo sentences have <= 14 words of <= 12 bytes, and
# with 32 word slots per sentence every batch's words fit the minimum of packed byte rows (with 16,
# some batches need twice as many rows, a second shape).
TINY_ARG = "langs=demo/aa+demo/bb"
TINY_OVERRIDES = {
    "model.byte_emb_dim": 8, "model.byte_hidden": 8, "model.word_hidden": 16,
    "data.max_word_bytes": 16, "data.byte_buckets": (16,), "data.length_buckets": (32,),
    "data.max_train_sentences": 64, "batch_size": 16, "eval_batch_size": 32,
    "optimizer.learning_rate": 1e-2, "optimizer.schedule": "constant", "num_epochs": 2,
    "patience": 0, "checkpoint_every_steps": 3, "log_every_steps": 2,
}


def make_tiny_config(**overrides):
  """configs/byte_crf.py with TINY_OVERRIDES and then `overrides` ("a.b" keys)."""
  config = config_files.load_config(f"byte_crf.py:{TINY_ARG}")
  for key, value in {**TINY_OVERRIDES, **overrides}.items():
    *parents, leaf = key.split(".")
    node = config
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return config


@pytest.fixture(scope="session")
def tiny_flags():
  """`tiny_flags(**{"a.b": value})`: `polyglot-ner train` flags for the tiny config."""
  def flags(**overrides):
    values = {**TINY_OVERRIDES, **overrides}
    return [f"--config=configs/byte_crf.py:{TINY_ARG}"] + [
        f"--config.{key}={value}" for key, value in values.items()]
  return flags


@pytest.fixture(scope="session")
def tiny_config():
  """`tiny_config(**{"a.b": value})`: the tiny config with overrides."""
  return make_tiny_config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
  """(config, workdir, results) of the tiny config trained for its 2 epochs, uninterrupted."""
  from polyglot_ner.train import loop  # pylint: disable=import-outside-toplevel
  config = make_tiny_config()
  workdir = tmp_path_factory.mktemp("trained")
  return config, workdir, loop.train_and_evaluate(config, workdir)


class Interrupted(Exception):
  """Raised in place of a train step by `interrupt_at`."""


@pytest.fixture(scope="session")
def interrupt_at():
  """`with interrupt_at(step): train...` stops the run by raising `Interrupted` in place of the
  train step that would start from `step` (so `step` steps are done)."""
  import contextlib  # pylint: disable=import-outside-toplevel
  from polyglot_ner.train import step as step_lib  # pylint: disable=import-outside-toplevel
  make_train_step = step_lib.make_train_step

  @contextlib.contextmanager
  def interrupt(at_step: int):
    def interrupting(*args, **kwargs):
      train_step = make_train_step(*args, **kwargs)
      def step(state, batch):
        if int(state.step) == at_step:
          raise Interrupted()
        return train_step(state, batch)
      return step

    step_lib.make_train_step = interrupting
    try:
      with pytest.raises(Interrupted):
        yield
    finally:
      step_lib.make_train_step = make_train_step

  return interrupt
