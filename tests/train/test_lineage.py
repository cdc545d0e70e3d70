"""`polyglot-ner lineage`: a grandchild's chain back to the run trained from scratch."""

import json
import shutil

import pytest

from polyglot_ner.__main__ import main as polyglot_ner
from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import loop


def _line(depth, workdir, kind, step, f1, languages):
  return (f"{'  ' * depth}{'<- ' if depth else ''}{workdir}  {kind} step {step}  "
          f"dev macro F1 {100 * f1:.2f}  {'+'.join(languages)}")


@pytest.fixture(scope="module")
def three_generations(tiny_config, tmp_path_factory):
  """Workdirs of a one-step run, its child on demo/aa and its grandchild on demo/bb."""
  root = tmp_path_factory.mktemp("lineage")
  one_step = {"data.max_train_sentences": 8, "num_epochs": 1}
  loop.train_and_evaluate(tiny_config(**one_step), root / "poly")
  loop.train_and_evaluate(tiny_config(**one_step, **{"data.langs": {"demo/aa": 1.0}},
                                      init_from=str(root / "poly")), root / "child")
  best = checkpoint_lib.Checkpoints(root / "child", read_only=True).path(checkpoint_lib.BEST)
  loop.train_and_evaluate(tiny_config(**one_step, **{"data.langs": {"demo/bb": 1.0}},
                                      init_from=str(best)), root / "grandchild")
  return root


def test_lineage_prints_the_chain_child_first(three_generations, capsys):
  root = three_generations
  results = {name: json.loads((root / name / "results.json").read_text())
             for name in ("poly", "child", "grandchild")}
  assert polyglot_ner(["lineage", str(root / "grandchild")]) == 0
  expected = [
      _line(depth, root / name, "best", 1, results[name]["dev"]["macro_f1"],
            results[name]["languages"])
      for depth, name in enumerate(("grandchild", "child", "poly"))]
  assert capsys.readouterr().out.splitlines() == expected


def test_lineage_survives_moved_ancestors_and_takes_checkpoint_paths(three_generations, capsys,
                                                                     tmp_path):
  root = three_generations
  moved = tmp_path / "grandchild"
  shutil.copytree(root / "grandchild", moved)
  shutil.rmtree(root / "poly")  # the chain lives in the grandchild's meta
  assert polyglot_ner(["lineage", str(moved / "checkpoints" / "latest")]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert len(lines) == 3 and lines[0].startswith(f"{moved}  latest step 1  dev macro F1 ")
  assert lines[2].startswith(f"    <- {root / 'poly'}  best step 1")


def test_lineage_usage_errors(tmp_path, capsys):
  assert polyglot_ner(["lineage"]) == 2
  assert polyglot_ner(["lineage", "--bogus"]) == 2
  assert capsys.readouterr().err.splitlines()[-1] == (
      "polyglot-ner lineage: error: expected one workdir or checkpoint path, got ['--bogus']")
  assert polyglot_ner(["lineage", str(tmp_path)]) == 1
  assert capsys.readouterr().err == (
      f"polyglot-ner lineage: error: {tmp_path} is neither a run workdir (with a checkpoints/ "
      "folder) nor a checkpoint path like W/checkpoints/best/<step>\n")
