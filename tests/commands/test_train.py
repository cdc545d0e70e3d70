"""`polyglot-ner train`: trains and prints the test scores; bad flags and config keys are usage
errors (exit status 2) before anything is written."""

import json

import pytest

from polyglot_ner import __main__ as dispatcher

REPO_CONFIG = "configs/byte_crf.py"


def test_train_command_trains_and_prints_test_scores(tmp_path, tiny_flags, capsys, monkeypatch):
  monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
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
  monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
  assert dispatcher.main(["train", *tiny_flags(), f"--workdir={tmp_path}", *bad]) == 2
  err = capsys.readouterr().err
  assert "polyglot-ner train: error: " in err and message in err
  assert err.startswith("usage: polyglot-ner train")
  assert not (tmp_path / "checkpoints").exists()


def test_train_command_rejects_a_config_arg_typo(tmp_path, capsys, monkeypatch):
  monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
  argv = ["train", f"--config={REPO_CONFIG}:lagns=demo/aa", f"--workdir={tmp_path}"]
  assert dispatcher.main(argv) == 2
  error = capsys.readouterr().err
  assert error.splitlines()[-1].endswith(
      "unknown config arg 'lagns' in 'lagns=demo/aa'; known keys: alpha, cpu, drop, langs, mode, "
      "paper, root, seed")
  assert "Traceback" not in error


def test_train_command_requires_a_workdir(capsys, monkeypatch):
  monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
  assert dispatcher.main(["train", f"--config={REPO_CONFIG}:cpu"]) == 2
  assert "--workdir" in capsys.readouterr().err
