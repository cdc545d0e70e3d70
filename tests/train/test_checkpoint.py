"""Latest/best Orbax checkpoints: round trip, partial restore, a killed save leaves the last one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib


def _state(step, value):
  params = {"layer": {"kernel": jnp.full((3, 4), value)}, "bias": jnp.arange(5.0)}
  state = state_lib.TrainState(step=jnp.int32(step), params=params,
                               opt_state={"mu": jax.tree.map(jnp.zeros_like, params)},
                               rng=jnp.array([1, 2], jnp.uint32))
  return step_lib.replicate(state, step_lib.make_mesh())


def test_save_restore_latest_and_best(tmp_path):
  checkpoints = checkpoint_lib.Checkpoints(tmp_path)
  assert checkpoints.step(checkpoint_lib.LATEST) is None
  checkpoints.save(checkpoint_lib.BEST, _state(3, 1.0), {"dev": 0.5})
  checkpoints.save(checkpoint_lib.LATEST, _state(3, 1.0), {"dev": 0.5})
  checkpoints.save(checkpoint_lib.LATEST, _state(6, 2.0), {"dev": 0.4, "data": [1, 2]})
  checkpoints.close()

  reopened = checkpoint_lib.Checkpoints(tmp_path, read_only=True)
  assert (reopened.step(checkpoint_lib.LATEST), reopened.step(checkpoint_lib.BEST)) == (6, 3)
  assert sorted(p.name for p in (tmp_path / "checkpoints" / "latest").iterdir()) == ["6"]
  state, meta = reopened.restore(checkpoint_lib.LATEST, _state(0, 0.0))
  assert int(state.step) == 6 and meta == {"dev": 0.4, "data": [1, 2]}
  np.testing.assert_array_equal(state.params["layer"]["kernel"], np.full((3, 4), 2.0))
  assert state.params["bias"].sharding.is_fully_replicated
  best = reopened.restore_params(checkpoint_lib.BEST, _state(0, 0.0).params)
  np.testing.assert_array_equal(best["layer"]["kernel"], np.full((3, 4), 1.0))
  shapes = reopened.params_shapes(checkpoint_lib.BEST)
  assert shapes["layer"]["kernel"].shape == (3, 4) and shapes["bias"].shape == (5,)
  assert reopened.meta(checkpoint_lib.BEST) == {"dev": 0.5}
  assert reopened.path(checkpoint_lib.BEST) == tmp_path / "checkpoints" / "best" / "3"


def test_a_save_killed_before_its_rename_is_ignored(tmp_path):
  checkpoints = checkpoint_lib.Checkpoints(tmp_path)
  checkpoints.save(checkpoint_lib.LATEST, _state(3, 1.0), {})
  checkpoints.close()
  # What a kill mid-save leaves: a step directory under its temporary name, never finalised.
  partial = tmp_path / "checkpoints" / "latest" / "6.orbax-checkpoint-tmp-1234"
  (partial / "state").mkdir(parents=True)
  (partial / "state" / "garbage").write_text("half written")
  reopened = checkpoint_lib.Checkpoints(tmp_path)
  assert reopened.step(checkpoint_lib.LATEST) == 3
  state, _ = reopened.restore(checkpoint_lib.LATEST, _state(0, 0.0))
  assert int(state.step) == 3


def test_saving_an_already_saved_step_keeps_it(tmp_path):
  checkpoints = checkpoint_lib.Checkpoints(tmp_path)
  checkpoints.save(checkpoint_lib.BEST, _state(4, 1.0), {"first": True})
  checkpoints.save(checkpoint_lib.BEST, _state(4, 1.0), {"first": False})
  checkpoints.wait_until_finished()
  assert checkpoints.meta(checkpoint_lib.BEST) == {"first": True}


def test_missing_checkpoint_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="no best checkpoint in .*checkpoints/best"):
    checkpoint_lib.Checkpoints(tmp_path).meta(checkpoint_lib.BEST)
  with pytest.raises(ValueError, match="unknown checkpoint kind 'last'"):
    checkpoint_lib.checkpoint_dir(tmp_path, "last")
