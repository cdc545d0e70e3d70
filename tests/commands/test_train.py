"""`polyglot-ner train`: trains and prints the test scores; bad flags and config keys are usage
errors (exit status 2), bad config values, config files and workdirs one line (exit status 1), all
before anything is compiled or written; checkpoints made read-only mid-run one line too (the run
resuming once they are writable again), and so is an error once they are open, every time."""

import json
import subprocess
import sys

import pytest

from polyglot_ner import __main__ as dispatcher
from polyglot_ner.train import checkpoint as checkpoint_lib

REPO = __file__.rsplit("/tests/", 1)[0]
REPO_CONFIG = "configs/byte_crf.py"


def test_train_command_trains_and_prints_test_scores(tmp_path, tiny_flags, capsys, monkeypatch):
  monkeypatch.chdir(REPO)
  argv = ["train", *tiny_flags(**{"data.max_train_sentences": 8, "num_epochs": 1}),
          f"--workdir={tmp_path}"]
  assert dispatcher.main(argv) == 0
  out = capsys.readouterr().out
  results = json.loads((tmp_path / "results.json").read_text())
  assert results["steps"] == 1 and results["config"]["batch_size"] == 16
  assert json.loads(out.strip().splitlines()[-1])["test_macro_f1"] == results["test"]["macro_f1"]
  assert "demo/aa" in out and "macro" in out


@pytest.mark.parametrize("bad, message", [
    (["--config.batch_sise=3"], "unknown config key 'batch_sise'\nDid you mean \"batch_size\""),
    (["--config.model.byte_hiden=3"], "unknown config key 'byte_hiden'"),
    (["--no_such_flag=1"], "no_such_flag"),
])
def test_train_command_rejects_unknown_keys_and_flags(tmp_path, tiny_flags, capsys, monkeypatch,
                                                      bad, message):
  monkeypatch.chdir(REPO)
  assert dispatcher.main(["train", *tiny_flags(), f"--workdir={tmp_path}", *bad]) == 2
  err = capsys.readouterr().err
  assert "polyglot-ner train: error: " in err and message in err
  assert err.startswith("usage: polyglot-ner train")
  assert not (tmp_path / "checkpoints").exists()


def test_train_command_rejects_a_config_arg_typo(tmp_path, capsys, monkeypatch):
  monkeypatch.chdir(REPO)
  argv = ["train", f"--config={REPO_CONFIG}:lagns=demo/aa", f"--workdir={tmp_path}"]
  assert dispatcher.main(argv) == 2
  error = capsys.readouterr().err
  assert error.splitlines()[-1].endswith(
      "unknown config arg 'lagns' in 'lagns=demo/aa'; known keys: alpha, cpu, drop, langs, mode, "
      "paper, root, seed")
  assert "Traceback" not in error


def test_train_command_requires_a_workdir(capsys, monkeypatch):
  monkeypatch.chdir(REPO)
  assert dispatcher.main(["train", f"--config={REPO_CONFIG}:cpu"]) == 2
  assert "--workdir" in capsys.readouterr().err


@pytest.mark.parametrize("key, value, message", [
    ("batch_size", 0, "config.batch_size must be an integer >= 1, got 0"),
    ("batch_size", -4, "config.batch_size must be an integer >= 1, got -4"),
    ("eval_batch_size", 0, "config.eval_batch_size must be an integer >= 1, got 0"),
    ("checkpoint_every_steps", 0, "config.checkpoint_every_steps must be an integer >= 1, got 0"),
    ("log_every_steps", 0, "config.log_every_steps must be an integer >= 1, got 0"),
    ("data.length_buckets", (),
     "config.data.length_buckets must be a non-empty list of positive sizes, got ()"),
    ("data.byte_buckets", (0, 16),
     "config.data.byte_buckets must be a non-empty list of positive sizes, got (0, 16)"),
])
def test_config_numbers_are_checked_before_anything_is_compiled_or_written(
    tmp_path, tiny_flags, capsys, monkeypatch, key, value, message):
  monkeypatch.chdir(REPO)
  argv = ["train", *tiny_flags(**{key: value}), f"--workdir={tmp_path / 'run'}"]
  assert dispatcher.main(argv) == 1
  assert capsys.readouterr().err == f"polyglot-ner train: error: {message}\n"
  assert not (tmp_path / "run").exists()


def test_config_files_and_workdirs_that_cannot_be_used_are_one_line(tmp_path, capsys, monkeypatch):
  monkeypatch.chdir(REPO)
  (tmp_path / "broken.py").write_text("def get_config(:\n")
  (tmp_path / "file").write_text("")
  config = f"--config={REPO_CONFIG}:cpu"
  cases = [
      ([f"--config={tmp_path}/missing.py:cpu", "--workdir=x"],
       f"config file {tmp_path}/missing.py does not exist"),
      ([f"--config={tmp_path}/missing.py:cpu", "--config.seed=1", "--workdir=x"],
       f"cannot load the config file: No such file or directory: '{tmp_path}/missing.py'"),
      ([f"--config={tmp_path}/broken.py", "--workdir=x"],
       f"config file {tmp_path}/broken.py:1: invalid syntax"),
      ([config, f"--workdir={tmp_path}/file"], f"workdir {tmp_path}/file is a file, not a directory"),
      ([config, f"--workdir={tmp_path}/file/run"],
       f"cannot create workdir {tmp_path}/file/run: Not a directory"),
  ]
  for argv, message in cases:
    assert dispatcher.main(["train", *argv]) == 1
    assert capsys.readouterr().err == f"polyglot-ner train: error: {message}\n"
  monkeypatch.setattr("os.access", lambda *args: False)  # tests may run as root, who can write
  assert dispatcher.main(["train", config, f"--workdir={tmp_path}"]) == 1
  assert capsys.readouterr().err == f"polyglot-ner train: error: workdir {tmp_path} is not writable\n"


def test_checkpoints_made_read_only_mid_run_are_one_line_and_the_run_resumes(
    trained_run, tmp_path, tiny_flags, read_only, capfd, monkeypatch):
  """`chmod -R a-w WORKDIR/checkpoints` once step 8 is saved: the save of step 9 fails in one line,
  exit status 1; once writable again, the same command resumes from step 8 and ends as the
  uninterrupted run did."""
  monkeypatch.chdir(REPO)
  _, _, reference = trained_run
  save = checkpoint_lib.Checkpoints.save
  writable_again = []

  def save_after_step_8_made_read_only(checkpoints, slot, state, meta):
    if int(state.step) == 9 and not writable_again:
      checkpoints.wait_until_finished()
      writable_again.append(read_only(tmp_path / "checkpoints"))
    save(checkpoints, slot, state, meta)

  monkeypatch.setattr(checkpoint_lib.Checkpoints, "save", save_after_step_8_made_read_only)
  argv = ["train", *tiny_flags(), f"--workdir={tmp_path}"]
  assert dispatcher.main(argv) == 1
  err = capfd.readouterr().err
  assert err.splitlines()[-1] == (
      f"polyglot-ner train: error: cannot write checkpoints to {tmp_path}/checkpoints/latest "
      "(Permission denied); once it is writable again, rerun the same command to resume from the "
      "last checkpoint saved")
  assert "Traceback" not in err and "ERROR" not in err

  writable_again[0]()
  assert dispatcher.main(argv) == 0
  assert f"resuming {tmp_path} from step 8 (epoch 1.00)" in capfd.readouterr().out
  results = json.loads((tmp_path / "results.json").read_text())
  expected = json.loads(json.dumps(reference))
  assert (results["test"], results["dev_history"]) == (expected["test"], expected["dev_history"])


def test_an_error_once_the_checkpoints_are_open_is_one_line_every_time(tmp_path):
  """Orbax removes killed saves' temporary directories on a thread of its own: an error soon after
  (here, an unknown language) used to end the process under it, a traceback ("cannot schedule new
  futures after interpreter shutdown") following the error's line in about one run in five, and
  in every run with leftovers to remove."""
  data = tmp_path / "data"
  (data / "conll2002" / "es").mkdir(parents=True)
  for split in ("train", "dev", "test"):
    (data / "conll2002" / "es" / f"{split}.txt").write_text("Juan B-PER\n")
  latest = tmp_path / "run" / "checkpoints" / "latest"
  command = [sys.executable, "-m", "polyglot_ner", "train",
             f"--config={REPO_CONFIG}:langs=conll2002/xx,cpu,root={data}",
             f"--workdir={tmp_path / 'run'}"]
  for _ in range(3):
    for step in range(20):  # what killed saves leave
      (latest / f"{step}.orbax-checkpoint-tmp-1234" / "state").mkdir(parents=True)
    failed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert (failed.returncode, failed.stderr) == (
        1, f"polyglot-ner train: error: no language 'xx' for conll2002 under {data}; available: "
           "es\n")
    assert not any(latest.iterdir())
