"""`polyglot-ner train | evaluate | predict` on the tiny demo run: relative paths, one-line errors."""

import json
import pathlib
import shutil

import pytest

from polyglot_ner import __main__ as dispatcher
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.eval import conlleval
from polyglot_ner.eval import predictions
from polyglot_ner.train import checkpoint as checkpoint_lib

REPO_CONFIG = "configs/byte_crf.py"
REPO = pathlib.Path(__file__).resolve().parents[2]


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
  assert "unknown config arg 'lagns'" in capsys.readouterr().err


def test_train_command_requires_a_workdir(capsys, monkeypatch):
  monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
  assert dispatcher.main(["train", f"--config={REPO_CONFIG}:cpu"]) == 2
  assert "--workdir" in capsys.readouterr().err


def test_evaluate_prints_the_scores_of_the_best_checkpoint(trained_run, capsys):
  _, workdir, results = trained_run
  assert dispatcher.main(["evaluate", f"--workdir={workdir}", "--split=test"]) == 0
  out = capsys.readouterr().out.strip().splitlines()
  assert f"best checkpoint (step {results['best_step']})" in out[0]
  assert json.loads(out[-1]) == json.loads(json.dumps(results["test"]))
  assert any(line.startswith("macro") for line in out)


def test_evaluate_latest_on_dev_matches_the_last_dev_evaluation(trained_run, capsys):
  _, workdir, results = trained_run
  assert dispatcher.main(["evaluate", f"--workdir={workdir}", "--split=dev",
                          "--checkpoint=latest"]) == 0
  scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert scores["macro_f1"] == results["dev_history"][-1]["macro_f1"]


def test_predict_writes_conlleval_input_that_scores_like_evaluate(trained_run, tmp_path):
  _, workdir, results = trained_run
  source = tmp_path / "bb.test.txt"
  conll.write_conll(source, corpora.load_split("demo/bb", "test"))
  output = tmp_path / "bb.pred.txt"
  assert dispatcher.main(["predict", f"--workdir={workdir}", f"--input={source}",
                          f"--output={output}", "--lang=demo/bb"]) == 0
  sentences, predicted = predictions.read_predictions(output)
  assert sentences == corpora.load_split("demo/bb", "test")
  assert all(len(line.split()) == 3 for line in output.read_text().splitlines() if line)
  score = conlleval.score([s.tags for s in sentences], predicted)
  assert score["f1"] == results["test"]["per_language"]["demo/bb"]["f1"]
  # The same predictions as the run's own test predictions file.
  assert output.read_text() == (workdir / "predictions" / "test" / "demo_bb.txt").read_text()


def test_predict_tags_a_tokens_only_file(trained_run, tmp_path):
  _, workdir, _ = trained_run
  sentences = corpora.load_split("demo/aa", "test")[:5]
  source = tmp_path / "tokens.txt"
  source.write_text("".join("\n".join(s.tokens) + "\n\n" for s in sentences))
  output = tmp_path / "tagged.txt"
  assert dispatcher.main(["predict", f"--workdir={workdir}", f"--input={source}",
                          f"--output={output}"]) == 0
  tagged = conll.read_conll(output)
  assert [s.tokens for s in tagged] == [s.tokens for s in sentences]


def test_predict_rejects_a_language_outside_the_run(trained_run, tmp_path):
  _, workdir, _ = trained_run
  source = tmp_path / "in.txt"
  conll.write_conll(source, corpora.load_split("demo/cc", "test")[:2])
  with pytest.raises(ValueError, match="'demo/cc' is not one of the run's languages"):
    dispatcher.main(["predict", f"--workdir={workdir}", f"--input={source}",
                     f"--output={tmp_path / 'out.txt'}", "--lang=demo/cc", "--debug"])


def _one_line_error(capsys, command):
  err = capsys.readouterr().err
  assert err.startswith(f"polyglot-ner {command}: error: ") and err.count("\n") == 1, err
  return err.strip()


def test_evaluate_without_a_checkpoint_fails_in_one_line(tmp_path, capsys):
  assert dispatcher.main(["evaluate", f"--workdir={tmp_path}"]) == 1
  assert _one_line_error(capsys, "evaluate").endswith(
      f"no best checkpoint in {tmp_path}/checkpoints/best")


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_damaged_best_checkpoint_fails_in_one_line(trained_run, tmp_path, capsys, command):
  _, trained, _ = trained_run
  workdir = tmp_path / "run"
  shutil.copytree(trained, workdir)
  best = checkpoint_lib.Checkpoints(workdir, read_only=True).path(checkpoint_lib.BEST)
  (best / "state" / "manifest.ocdbt").unlink()
  source = tmp_path / "in.txt"
  conll.write_conll(source, corpora.load_split("demo/aa", "test")[:2])
  argv = {"evaluate": ["evaluate", f"--workdir={workdir}"],
          "predict": ["predict", f"--workdir={workdir}", f"--input={source}",
                      f"--output={tmp_path / 'out.txt'}"]}[command]
  assert dispatcher.main(argv) == 1
  assert _one_line_error(capsys, command) == (
      f"polyglot-ner {command}: error: the best checkpoint {best} is damaged: "
      "state/manifest.ocdbt is missing")


def test_every_command_takes_relative_paths(tmp_path, tiny_flags, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  one_step = {"data.max_train_sentences": 8, "num_epochs": 1}
  flags = [f"--config={REPO / REPO_CONFIG}:" + tiny_flags()[0].split(":", 1)[1],
           *tiny_flags(**one_step)[1:]]
  assert dispatcher.main(["train", *flags, "--workdir=runs/parent"]) == 0
  assert dispatcher.main(["train", *flags, "--config.init_from=runs/parent",
                          "--workdir=runs/child"]) == 0
  assert dispatcher.main(["evaluate", "--workdir=runs/child"]) == 0
  conll.write_conll(tmp_path / "in.txt", corpora.load_split("demo/aa", "test")[:2])
  assert dispatcher.main(["predict", "--workdir=runs/child", "--input=in.txt",
                          "--output=out.txt"]) == 0
  capsys.readouterr()
  assert dispatcher.main(["lineage", "runs/child/checkpoints/best"]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert lines[0].startswith(f"{tmp_path}/runs/child  best step 1")
  assert lines[1].startswith(f"  <- {tmp_path}/runs/parent  best step 1")
  assert (tmp_path / "out.txt").exists() and not (REPO / "runs" / "parent").exists()
