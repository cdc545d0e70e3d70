"""`polyglot-ner train | evaluate | predict` on the tiny demo run."""

import json

import pytest

from polyglot_ner import __main__ as dispatcher
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.eval import conlleval
from polyglot_ner.eval import predictions
from polyglot_ner.train import checkpoint as checkpoint_lib

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
  assert message in err and "usage: polyglot-ner train" in err
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
                     f"--output={tmp_path / 'out.txt'}", "--lang=demo/cc"])


def test_evaluate_without_a_checkpoint_fails_clearly(tmp_path):
  with pytest.raises(FileNotFoundError, match="no best checkpoint"):
    dispatcher.main(["evaluate", f"--workdir={tmp_path}"])
  assert checkpoint_lib.BEST == "best"
