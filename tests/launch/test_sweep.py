"""Sweep expansion: counts per design against brute force, de-duplication, dependencies, names."""

import itertools
import json
import math
import re
import shlex

import pathlib
import shutil

import pytest

from polyglot_ner import finetune_recipe
import sweep

LANGS = ["conll2003/en", "conll2002/es", "conll2002/nl"]
REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def two_models(tmp_path):
  """A configs folder with byte_crf.py and a copy of it named charner.py."""
  configs = tmp_path / "configs"
  configs.mkdir()
  for name in ("byte_crf", "charner"):
    shutil.copy(REPO / "configs" / "byte_crf.py", configs / f"{name}.py")
  return str(configs)


def finish(run, command=None):
  """Writes the results.json that training `command` (default: the run's) would leave."""
  pathlib.Path(run.workdir).mkdir(parents=True, exist_ok=True)
  config = sweep.train_config(command or run.command)
  pathlib.Path(run.workdir, sweep.RESULTS_FILE).write_text(
      json.dumps({"config": json.loads(config.to_json())}))


def lang_sets(runs):
  return sorted(tuple(r.langs) for r in runs)


@pytest.mark.parametrize("design,max_subset,n_train,n_finetune", [
    ("mono", None, 3, 0),
    ("polyglot", None, 1, 0),
    ("finetune", None, 1, 3),
    ("leave_one_out", None, 3, 0),
    ("leave_one_out_ft", None, 3, 3),
    ("pairs", None, 3, 0),
    ("subsets", 2, 6, 0),
    ("subsets", 3, 7, 0),
])
def test_counts_per_design(tmp_path, two_models, design, max_subset, n_train, n_finetune):
  runs = sweep.expand(LANGS, [design], seeds=[0, 1], models=["byte_crf", "charner"],
                      root=str(tmp_path), max_subset=max_subset, configs_dir=two_models)
  assert len({r.id for r in runs}) == len(runs) == 4 * (n_train + n_finetune)
  for model, seed in itertools.product(["byte_crf", "charner"], [0, 1]):
    cell = [r for r in runs if r.model == model and r.seed == seed]
    assert sum(r.init_from is None for r in cell) == n_train
    assert sum(r.init_from is not None for r in cell) == n_finetune


@pytest.mark.parametrize("n_langs,max_subset", [(1, 1), (3, 2), (4, 3), (5, 5)])
def test_language_sets_match_brute_force(n_langs, max_subset):
  langs = [f"wikiann/l{i}" for i in range(n_langs)]
  def design_sets(design):
    return lang_sets(sweep.expand(langs, [design], [0], ["byte_crf"], max_subset=max_subset))
  subsets = sorted(tuple(sorted(c)) for k in range(1, max_subset + 1)
                   for c in itertools.combinations(langs, k))
  assert len(subsets) == sum(math.comb(n_langs, k) for k in range(1, max_subset + 1))
  assert design_sets("subsets") == subsets
  assert design_sets("mono") == [(lang,) for lang in langs]
  assert design_sets("pairs") == [s for s in subsets if len(s) == 2]
  assert design_sets("leave_one_out") == (
      sorted(tuple(l for l in langs if l != x) for x in langs) if n_langs > 1 else [])


def test_duplicates_across_designs_are_one_run():
  runs = sweep.expand(LANGS, list(sweep.DESIGNS), [0], ["byte_crf"])
  # 3 singles, 3 pairs (== leave-one-out), 1 triple, 3 fine-tunes of it, 3 of the pairs.
  assert len(runs) == 13
  by_langs = {r.langs: r for r in runs if r.init_from is None}
  assert len(by_langs) == 7
  assert by_langs[("conll2002/es", "conll2002/nl")].designs == (
      "leave_one_out", "pairs", "subsets")
  pair = sweep.expand(LANGS[:2], ["pairs", "polyglot"], [0], ["byte_crf"])
  assert len(pair) == 1 and pair[0].designs == ("polyglot", "pairs")


def test_fine_tunes_follow_their_parent(tmp_path):
  runs = sweep.expand(LANGS, ["finetune", "leave_one_out_ft", "mono"], [0, 1], ["byte_crf"],
                      root=str(tmp_path))
  sweep.write_manifest(runs, tmp_path / "manifest.jsonl")
  entries = sweep.read_manifest(tmp_path / "manifest.jsonl")
  position = {e["id"]: i for i, e in enumerate(entries)}
  children = [e for e in entries if e["deps"]]
  assert len(children) == 2 * (3 + 3)
  for child in children:
    (parent_id,) = child["deps"]
    parent = entries[position[parent_id]]
    assert position[parent_id] < position[child["id"]]
    assert (parent["seed"], parent["model"]) == (child["seed"], child["model"])
    assert not parent["deps"] and len(child["langs"]) == 1
    assert child["init_from"] == parent["workdir"]
    assert f"--config.init_from={parent['workdir']}" in child["command"]
    held_out = child["design"] == "leave_one_out_ft"
    assert (child["langs"][0] in parent["langs"]) != held_out
    assert parent["design"] == ("leave_one_out" if held_out else "polyglot")


def test_read_manifest_rejects_a_child_before_its_parent(tmp_path):
  runs = sweep.expand(LANGS, ["finetune"], [0], ["byte_crf"])
  path = tmp_path / "m.jsonl"
  sweep.write_manifest(runs[::-1], path)
  with pytest.raises(ValueError, match=r"m\.jsonl:1: .*depends on"):
    sweep.read_manifest(path)


def test_finished_runs_are_marked_done(tmp_path):
  root = tmp_path / "runs"
  before = sweep.expand(LANGS, ["mono", "finetune"], [0], ["byte_crf"], root=str(root))
  assert not any(r.done for r in before)
  finish(before[1])
  after = sweep.expand(LANGS, ["mono", "finetune"], [0], ["byte_crf"], root=str(root))
  assert [r.id for r in after] == [r.id for r in before]
  assert [r.workdir for r in after if r.done] == [before[1].workdir]
  assert not any(r.stale for r in after)


def test_a_run_finished_with_another_config_is_stale_not_done(tmp_path):
  root = str(tmp_path / "runs")
  runs = sweep.expand(LANGS[:1], ["mono"], [0], ["byte_crf"], root=root,
                      extra=["--config.num_epochs=3"])
  finish(runs[0])
  same = sweep.expand(LANGS[:1], ["mono"], [0], ["byte_crf"], root=root,
                      extra=["--config.num_epochs=3", "--config.log_every_steps=7"])
  assert same[0].done and not same[0].stale  # logging does not change what is computed
  (changed,) = sweep.expand(LANGS[:1], ["mono"], [0], ["byte_crf"], root=root,
                            extra=["--config.num_epochs=20"])
  assert not changed.done
  assert changed.stale == "config differs in num_epochs: 3 -> 20"


def test_the_cli_refuses_stale_runs_unless_moved(tmp_path, capsys):
  root, manifest = tmp_path / "runs", tmp_path / "m.jsonl"
  args = ["--langs", "conll2002/es+conll2002/nl", "--designs", "finetune", "--root", str(root),
          "--manifest", str(manifest)]
  runs = sweep.expand(["conll2002/es", "conll2002/nl"], ["finetune"], [0], ["byte_crf"],
                      root=str(root), extra=["--config.num_epochs=3"])
  for run in runs:
    finish(run)
  assert sweep.main(args + ["--extra", "--config.num_epochs=3"]) == 0
  assert "3 runs, 3 finished, 0 to run" in capsys.readouterr().out
  with pytest.raises(SystemExit):
    sweep.main(args + ["--extra", "--config.num_epochs=20"])
  err = capsys.readouterr().err
  assert f"stale: {runs[0].id}: config differs in num_epochs: 3 -> 20" in err
  assert f"stale: {runs[1].id}: config differs in num_epochs: 3 -> 20" in err
  assert "3 finished run(s) do not match their commands" in err and "--move-stale" in err
  manifest.write_text("old")
  assert manifest.read_text() == "old"  # nothing written

  assert sweep.main(args + ["--extra", "--config.num_epochs=20", "--move-stale"]) == 0
  out = capsys.readouterr().out
  assert f"moved stale {runs[0].workdir} to {runs[0].workdir}.stale1" in out
  assert "3 runs, 0 finished, 3 to run" in out
  assert pathlib.Path(runs[0].workdir + ".stale1", sweep.RESULTS_FILE).is_file()
  assert not pathlib.Path(runs[0].workdir).exists()


def test_a_finished_child_of_a_parent_to_retrain_is_stale(tmp_path):
  runs = sweep.expand(LANGS[:2], ["finetune"], [0], ["byte_crf"], root=str(tmp_path))
  finish(runs[1])
  parent, child, _ = sweep.expand(LANGS[:2], ["finetune"], [0], ["byte_crf"], root=str(tmp_path))
  assert not parent.done and not child.done
  assert child.stale == f"its parent {parent.id} is not finished with its config"


def test_fine_tunes_follow_the_recipe(tmp_path):
  parent, child, _ = sweep.expand(LANGS[:2], ["finetune"], [0], ["byte_crf"], preset="cpu",
                                  root=str(tmp_path), extra=["--config.num_epochs=9"])
  parent_config = sweep.train_config(parent.command)
  child_config = sweep.train_config(child.command)
  assert child_config.optimizer.learning_rate == (finetune_recipe.LR_FRACTION
                                                  * parent_config.optimizer.learning_rate)
  assert child_config.num_epochs == parent_config.num_epochs == 9
  assert child_config.init_from == parent.workdir
  _, tuned, _ = sweep.expand(LANGS[:2], ["finetune"], [0], ["byte_crf"], root=str(tmp_path),
                             ft_epochs=4, ft_lr=3e-5)
  assert tuned.command[-2:] == ("--config.num_epochs=4", "--config.optimizer.learning_rate=3e-05")
  config = sweep.train_config(tuned.command)
  assert (config.num_epochs, config.optimizer.learning_rate) == (4, 3e-5)


def test_a_mistyped_extra_key_is_an_error_at_sweep_time():
  with pytest.raises(ValueError, match="unknown config key.*num_epoch"):
    sweep.expand(LANGS[:1], ["mono"], [0], ["byte_crf"], extra=["--config.num_epoch=3"])


def test_names_are_canonical():
  runs = sweep.expand(LANGS, ["finetune", "mono"], [0], ["byte_crf"], root="runs/sweep")
  shuffled = sweep.expand(LANGS[::-1], ["mono", "finetune"], [0], ["byte_crf"], root="runs/sweep")
  assert [r.to_json() for r in runs] == [r.to_json() for r in shuffled]
  poly = "conll2002_es+conll2002_nl+conll2003_en"
  assert [r.id for r in runs] == [
      "byte_crf/seed0/conll2002_es", "byte_crf/seed0/conll2002_nl", "byte_crf/seed0/conll2003_en",
      f"byte_crf/seed0/{poly}", f"byte_crf/seed0/{poly}.ft-conll2002_es",
      f"byte_crf/seed0/{poly}.ft-conll2002_nl", f"byte_crf/seed0/{poly}.ft-conll2003_en"]
  assert all(re.fullmatch(r"[A-Za-z0-9_+./-]+", r.workdir) for r in runs)
  assert runs[4].workdir == f"runs/sweep/byte_crf/seed0/{poly}.ft-conll2002_es"


def test_long_language_sets_get_a_short_stable_name():
  langs = [f"wikiann/lang{i:02d}" for i in range(29)]
  name = sweep.langs_name(langs)
  assert name == sweep.langs_name(langs[::-1]) and name.startswith("29langs-")
  assert name != sweep.langs_name(langs[1:])
  assert sweep.langs_name(langs[:3]) == "wikiann_lang00+wikiann_lang01+wikiann_lang02"


@pytest.mark.parametrize("langs,design", [(["conll2003/en us"], "mono"), (["a/b.c"], "mono"),
                                          (["a/b_c", "a_b/c"], "mono"), (["a/b"], "nope")])
def test_bad_input_is_an_error(langs, design):
  with pytest.raises(ValueError):
    sweep.expand(langs, [design], [0], ["byte_crf"])


def test_cli_writes_the_commands(tmp_path, capsys):
  manifest = tmp_path / "m.jsonl"
  assert sweep.main(["--langs", "conll2002/nl+conll2002/es", "--designs", "finetune",
                     "--seeds", "3", "--models", "byte_crf", "--preset", "cpu",
                     "--root", "runs/x", "--manifest", str(manifest),
                     "--extra", "--config.num_epochs=5 --config.data.root=/d"]) == 0
  assert "3 runs, 0 finished, 3 to run" in capsys.readouterr().out
  lines = [json.loads(line) for line in manifest.read_text().splitlines()]
  assert lines[0]["command"] == [
      "polyglot-ner", "train", "--config", "configs/byte_crf.py:langs=conll2002/es+conll2002/nl,cpu",
      "--config.seed=3", "--workdir", "runs/x/byte_crf/seed3/conll2002_es+conll2002_nl",
      "--config.num_epochs=5", "--config.data.root=/d"]
  assert lines[1]["command"][:6] == [
      "polyglot-ner", "train", "--config", "configs/byte_crf.py:langs=conll2002/es,cpu",
      "--config.seed=3", "--config.init_from=runs/x/byte_crf/seed3/conll2002_es+conll2002_nl"]
  assert all(shlex.split(line["command_str"]) == line["command"] for line in lines)
