"""Fixtures of the training tests beyond tests/conftest.py's tiny config and run: interrupting a
run at a chosen step."""

import pytest


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
      def step(state, *args):
        if int(state.step) == at_step:
          raise Interrupted()
        return train_step(state, *args)
      return step

    step_lib.make_train_step = interrupting
    try:
      with pytest.raises(Interrupted):
        yield
    finally:
      step_lib.make_train_step = make_train_step

  return interrupt
