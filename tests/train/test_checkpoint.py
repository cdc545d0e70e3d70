"""Latest/best Orbax checkpoints: round trip, partial restore, a killed save leaves the last one,
relative and gs:// paths, damaged steps and unwritable directories named in one sentence."""

import os
import re
import shutil
import threading

from etils import epath
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner import errors
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
  assert sorted(p.name for p in (tmp_path / "checkpoints" / "latest").iterdir()) == ["3", "6"]
  assert reopened.steps(checkpoint_lib.LATEST) == [6, 3]
  state, meta = reopened.restore(checkpoint_lib.LATEST, _state(0, 0.0))
  assert int(state.step) == 6 and meta == {"dev": 0.4, "data": [1, 2]}
  np.testing.assert_array_equal(state.params["layer"]["kernel"], np.full((3, 4), 2.0))
  assert state.params["bias"].sharding.is_fully_replicated
  previous, meta = reopened.restore(checkpoint_lib.LATEST, _state(0, 0.0), step=3)
  assert int(previous.step) == 3 and meta == {"dev": 0.5}
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


def test_latest_keeps_two_steps(tmp_path):
  with checkpoint_lib.Checkpoints(tmp_path) as checkpoints:
    for step in (3, 6, 9):
      checkpoints.save(checkpoint_lib.LATEST, _state(step, 1.0), {})
  assert checkpoint_lib.Checkpoints(tmp_path, read_only=True).steps(checkpoint_lib.LATEST) == [9, 6]


def test_missing_checkpoint_is_a_clear_error(tmp_path):
  with pytest.raises(errors.NotFound, match="no best checkpoint in .*checkpoints/best"):
    checkpoint_lib.Checkpoints(tmp_path).meta(checkpoint_lib.BEST)
  with pytest.raises(errors.UserError, match="unknown checkpoint slot 'last'"):
    checkpoint_lib.checkpoint_dir(tmp_path, "last")


def test_relative_paths_are_made_absolute_and_uris_left_alone(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert checkpoint_lib.run_path("runs/x") == epath.Path(tmp_path / "runs" / "x")
  assert os.fspath(checkpoint_lib.run_path("gs://bucket/runs/x")) == "gs://bucket/runs/x"
  with checkpoint_lib.Checkpoints("runs/x") as checkpoints:  # Orbax refuses relative paths
    checkpoints.save(checkpoint_lib.LATEST, _state(3, 1.0), {"a": 1})
  assert checkpoint_lib.Checkpoints("runs/x").meta() == {"a": 1}
  assert checkpoint_lib.locate("runs/x/checkpoints/latest/3") == (
      epath.Path(tmp_path / "runs" / "x"), checkpoint_lib.LATEST, 3)
  assert checkpoint_lib.locate("runs/x", checkpoint_lib.LATEST) == (
      epath.Path(tmp_path / "runs" / "x"), checkpoint_lib.LATEST, None)
  with pytest.raises(errors.UserError, match="runs/x/checkpoints/latest/3 is a latest checkpoint, "
                                             "not a best one"):
    checkpoint_lib.locate("runs/x/checkpoints/latest/3", checkpoint_lib.BEST)
  with pytest.raises(errors.NotFound, match="^runs/y does not exist$"):
    checkpoint_lib.locate("runs/y")


def test_a_gs_workdir_reaches_orbax_untouched(monkeypatch):
  directories = []

  class Manager:
    def __init__(self, directory, **kwargs):
      directories.append(os.fspath(directory))

    def _maybe_await_cleanup_tmp_directory(self):
      pass

  monkeypatch.setattr(checkpoint_lib.ocp, "CheckpointManager", Manager)
  checkpoints = checkpoint_lib.Checkpoints("gs://bucket/runs/x")
  assert os.fspath(checkpoints.workdir) == "gs://bucket/runs/x"
  assert directories == ["gs://bucket/runs/x/checkpoints/latest",
                         "gs://bucket/runs/x/checkpoints/best"]
  assert os.fspath(checkpoint_lib.checkpoint_dir("gs://b/w", checkpoint_lib.BEST)) == (
      "gs://b/w/checkpoints/best")


def _truncate_data_files(step_dir):
  for path in step_dir.glob("state/**/d/*"):
    path.write_bytes(path.read_bytes()[:10])


DAMAGES = {  # how a step gets damaged -> what the error names
    "truncated data file": (_truncate_data_files, r"OUT_OF_RANGE: .*state/d/\w+"),
    "deleted manifest": (lambda d: (d / "state" / "manifest.ocdbt").unlink(),
                         "state/manifest.ocdbt is missing"),
    "deleted meta": (lambda d: (d / "meta" / "metadata").unlink(), "meta/metadata is missing"),
    "deleted state item": (lambda d: shutil.rmtree(d / "state"), "state is missing"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_step_is_one_sentence_naming_it(tmp_path, damage, capfd):
  with checkpoint_lib.Checkpoints(tmp_path) as checkpoints:
    checkpoints.save(checkpoint_lib.LATEST, _state(3, 1.0), {"a": 1})
  damage_step, named = DAMAGES[damage]
  damage_step(tmp_path / "checkpoints" / "latest" / "3")
  capfd.readouterr()
  with checkpoint_lib.Checkpoints(tmp_path, read_only=True) as checkpoints:
    with pytest.raises(checkpoint_lib.DamagedCheckpoint) as raised:
      checkpoints.restore(checkpoint_lib.LATEST, _state(0, 0.0))
  message = str(raised.value)
  assert isinstance(raised.value, errors.UserError) and "\n" not in message
  assert message.startswith(f"the latest checkpoint {tmp_path}/checkpoints/latest/3 is damaged: ")
  assert len(message.replace(str(tmp_path), "")) < 300  # however long the temp directory's name
  assert re.search(named, message)
  assert "Traceback" not in capfd.readouterr().err  # nor the failed reads' stragglers'



def _unwritable(directory):
  return (f"cannot write checkpoints to {directory} (Permission denied); once it is writable "
          "again, rerun the same command to resume from the last checkpoint saved")


def test_a_save_into_a_read_only_directory_fails_at_once_in_one_sentence(tmp_path, read_only,
                                                                          capfd):
  with checkpoint_lib.Checkpoints(tmp_path) as checkpoints:
    checkpoints.save(checkpoint_lib.LATEST, _state(3, 1.0), {})
    checkpoints.wait_until_finished()
    read_only(tmp_path / "checkpoints")
    with pytest.raises(checkpoint_lib.UnwritableCheckpoint) as raised:
      checkpoints.save(checkpoint_lib.LATEST, _state(6, 1.0), {})
  assert str(raised.value) == _unwritable(tmp_path / "checkpoints" / "latest")
  assert capfd.readouterr().err == ""
  assert checkpoint_lib.Checkpoints(tmp_path, read_only=True).steps(checkpoint_lib.LATEST) == [3]


def test_a_save_refused_in_the_background_is_raised_later_and_close_releases_everything(
    tmp_path, read_only, capfd):
  """Made read-only while saves are under way: their commits (renames, on Orbax's threads) fail;
  the next wait and then `close` raise them, and `close` leaves no thread behind."""
  before = set(threading.enumerate())
  checkpoints = checkpoint_lib.Checkpoints(tmp_path)
  for slot in checkpoint_lib.SLOTS:
    checkpoints.save(slot, _state(3, 1.0), {})
  checkpoints.wait_until_finished()
  read_only(tmp_path / "checkpoints", calls=("rename",))
  for slot in checkpoint_lib.SLOTS:
    checkpoints.save(slot, _state(6, 1.0), {})
  with pytest.raises(checkpoint_lib.UnwritableCheckpoint) as raised:
    checkpoints.wait_until_finished()
  assert str(raised.value) == _unwritable(tmp_path / "checkpoints" / "latest")
  with pytest.raises(checkpoint_lib.UnwritableCheckpoint) as raised:
    checkpoints.close()
  assert str(raised.value) == _unwritable(tmp_path / "checkpoints" / "best")
  for thread in set(threading.enumerate()) - before:
    thread.join(timeout=10)
    assert not thread.is_alive(), f"{thread.name} outlived close"
  assert capfd.readouterr().err == ""
  with checkpoint_lib.Checkpoints(tmp_path, read_only=True) as checkpoints:
    assert [checkpoints.steps(slot) for slot in checkpoint_lib.SLOTS] == [[3], [3]]
