"""The lineage of a checkpoint: a grandchild's chain back to the run trained from scratch."""

import json
import shutil

import pytest

from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import lineage as lineage_lib
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


def test_the_chain_is_child_first_with_each_runs_scores(three_generations):
  root = three_generations
  names = ("grandchild", "child", "poly")
  results = {name: json.loads((root / name / "results.json").read_text()) for name in names}
  chain = lineage_lib.lineage(root / "grandchild")
  assert [(run["workdir"], run["slot"], run["step"], run["languages"]) for run in chain] == [
      (str(root / name), "best", 1, results[name]["languages"]) for name in names]
  assert [run["dev_scores"]["macro_f1"] for run in chain] == [
      results[name]["dev"]["macro_f1"] for name in names]
  assert lineage_lib.format_lineage(chain).splitlines() == [
      _line(depth, root / name, "best", 1, results[name]["dev"]["macro_f1"],
            results[name]["languages"]) for depth, name in enumerate(names)]


def test_lineage_survives_moved_ancestors_and_takes_checkpoint_paths(three_generations, tmp_path):
  root = three_generations
  moved = tmp_path / "grandchild"
  shutil.copytree(root / "grandchild", moved)
  shutil.rmtree(root / "poly")  # the chain lives in the grandchild's meta
  lines = lineage_lib.format_lineage(
      lineage_lib.lineage(moved / "checkpoints" / "latest")).splitlines()
  assert len(lines) == 3 and lines[0].startswith(f"{moved}  latest step 1  dev macro F1 ")
  assert lines[2].startswith(f"    <- {root / 'poly'}  best step 1")


def test_a_checkpoint_whose_parameters_are_damaged_is_shown_with_a_warning(three_generations,
                                                                           tmp_path, capsys):
  """Lineage reads only the meta: the damage it cannot see through a read is named on stderr."""
  damaged = tmp_path / "child"
  shutil.copytree(three_generations / "child", damaged)
  lineage_lib.lineage(damaged)
  assert not capsys.readouterr().err
  best = checkpoint_lib.Checkpoints(damaged, read_only=True).path(checkpoint_lib.BEST)
  (best / "state" / "manifest.ocdbt").unlink()
  assert len(lineage_lib.lineage(damaged)) == 2
  assert capsys.readouterr().err == (
      f"warning: the best checkpoint {best} is damaged: state/manifest.ocdbt is missing\n")
