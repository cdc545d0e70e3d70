"""`polyglot-ner lineage W`: the chain of runs trained by the commands, and its usage errors."""

import pathlib

from polyglot_ner import __main__ as dispatcher
from polyglot_ner.data import conll
from polyglot_ner.data import corpora

REPO_CONFIG = "configs/byte_crf.py"
REPO = pathlib.Path(__file__).resolve().parents[2]


def test_every_command_takes_relative_paths(tmp_path, tiny_flags, monkeypatch, capsys):
  """train, fine-tune, evaluate, predict, then the lineage of the two runs, all from tmp_path."""
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


def test_lineage_usage_errors(tmp_path, capsys):
  assert dispatcher.main(["lineage"]) == 2
  assert capsys.readouterr().err == (
      "usage: polyglot-ner lineage W\npolyglot-ner lineage: error: missing W\n")
  assert dispatcher.main(["lineage", "--bogus", "x"]) == 2
  assert capsys.readouterr().err.splitlines()[-1] == (
      "polyglot-ner lineage: error: Unknown command line flag 'bogus'")
  assert dispatcher.main(["lineage", "a", "b"]) == 2
  assert capsys.readouterr().err.splitlines()[-1] == (
      "polyglot-ner lineage: error: unexpected arguments: b")
  assert dispatcher.main(["lineage", str(tmp_path)]) == 1
  assert capsys.readouterr().err == (
      f"polyglot-ner lineage: error: {tmp_path} is neither a run workdir (with a checkpoints/ "
      "folder) nor a checkpoint path like W/checkpoints/best/<step>\n")


def test_lineage_help(capsys):
  assert dispatcher.main(["lineage", "--help"]) == 0
  out = capsys.readouterr().out
  assert out.startswith("usage: polyglot-ner lineage W\n\n`polyglot-ner lineage W`: the chain")
