"""`polyglot-ner evaluate` on the tiny trained run; a missing or damaged checkpoint is one line."""

import json
import shutil

import pytest

from polyglot_ner import __main__ as dispatcher
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.eval import tables
from polyglot_ner.train import checkpoint as checkpoint_lib


def test_evaluate_prints_the_scores_of_the_best_checkpoint(trained_run, capsys):
  _, workdir, results = trained_run
  assert dispatcher.main(["evaluate", f"--workdir={workdir}", "--split=test"]) == 0
  out = capsys.readouterr().out.strip().splitlines()
  assert f"best checkpoint (step {results['best_step']})" in out[0]
  assert json.loads(out[-1]) == json.loads(json.dumps(results["test"]))
  table = tables.format_scores(results["test"]).splitlines()
  assert out[1:len(table) + 1] == table
  assert "\n".join(out[len(table) + 2:-1]) + "\n" == tables.format_reports(results["test"])
  assert out[len(table) + 2] == "demo/aa:" and out[len(table) + 3].startswith("processed ")


def test_evaluate_latest_on_dev_matches_the_last_dev_evaluation(trained_run, capsys):
  _, workdir, results = trained_run
  assert dispatcher.main(["evaluate", f"--workdir={workdir}", "--split=dev",
                          "--checkpoint=latest"]) == 0
  scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert scores["macro_f1"] == results["dev_history"][-1]["macro_f1"]


def _one_line_error(capsys, command):
  err = capsys.readouterr().err
  assert err.startswith(f"polyglot-ner {command}: error: ") and err.count("\n") == 1, err
  return err.strip()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_path_that_is_not_a_run_fails_in_one_line(tmp_path, capsys, command):
  (tmp_path / "run" / "checkpoints" / "latest").mkdir(parents=True)
  (tmp_path / "in.txt").write_text("Kigali\n")
  cases = [
      (tmp_path / "absent", [], f"{tmp_path}/absent does not exist"),
      (tmp_path, [], f"{tmp_path} is neither a run workdir (with a checkpoints/ folder) nor a "
                     "checkpoint path like W/checkpoints/best/<step>"),
      (tmp_path / "run", ["--checkpoint=best"],
       f"no best checkpoint in {tmp_path}/run/checkpoints/best"),
      (tmp_path / "run/checkpoints/latest", ["--checkpoint=best"],
       f"{tmp_path}/run/checkpoints/latest is a latest checkpoint, not a best one"),
  ]
  for path, flags, message in cases:
    io = ([f"--input={tmp_path}/in.txt", f"--output={tmp_path}/out.txt"]
          if command == "predict" else [])
    assert dispatcher.main([command, f"--workdir={path}", *flags, *io]) == 1
    assert _one_line_error(capsys, command) == f"polyglot-ner {command}: error: {message}"


def test_evaluate_takes_checkpoint_paths(trained_run, capsys):
  """The paths `runs.load` and `polyglot-ner lineage` take: a slot's directory or one step."""
  _, workdir, results = trained_run
  best = f"{workdir}/checkpoints/best/{results['best_step']}"
  for path, slot in ((best, "best"), (f"{workdir}/checkpoints/latest", "latest")):
    assert dispatcher.main(["evaluate", f"--workdir={path}", "--split=dev"]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: {slot} checkpoint (step ")


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
      "state/manifest.ocdbt is missing; the latest checkpoint may still be intact "
      "(--checkpoint latest)")
