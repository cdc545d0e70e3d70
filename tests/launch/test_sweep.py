"""The sweep: a command per planned run (the planner itself: tests/study/test_plan.py), dependencies,
finished and stale runs, the fine-tuning recipe, canonical names, the manifest and the CLI."""

import json
import pathlib
import re
import shlex
import shutil

import pytest

from polyglot_ner.study import finetune_recipe
from polyglot_ner.study import plan as run_plan
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


def test_every_planned_run_gets_its_command(tmp_path, two_models):
  runs = sweep.expand(LANGS, ["leave_one_out_ft", "mono"], [0, 1], ["byte_crf", "charner"],
                      root=str(tmp_path), preset="cpu", configs_dir=two_models)
  planned = run_plan.expand(LANGS, ["mono", "leave_one_out_ft"], [0, 1], ["byte_crf", "charner"])
  assert len(runs) == len(planned) == 2 * 2 * (3 + 3 + 3)
  for run, plan in zip(runs, planned):
    assert (run.id, run.designs, run.langs, run.seed, run.model) == (
        plan.id, plan.designs, plan.langs, plan.seed, plan.model)
    assert run.workdir == str(tmp_path / plan.id)
    assert run.deps == ((plan.parent,) if plan.parent else ())
    assert run.init_from == (str(tmp_path / plan.parent) if plan.parent else None)
    assert run.command[:5] == (
        "polyglot-ner", "train", "--config",
        f"{two_models}/{plan.model}.py:langs={'+'.join(plan.langs)},cpu",
        f"--config.seed={plan.seed}")
    config = sweep.train_config(run.command)
    assert dict(config.data.langs) == dict.fromkeys(plan.langs, 1.0) and config.seed == plan.seed


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
  assert sweep.main(args + ["--extra", "--config.num_epochs=20"]) == 1
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


def test_a_stale_run_that_cannot_be_moved_is_one_line_and_stays(tmp_path, capsys, read_only):
  root, manifest = tmp_path / "runs", tmp_path / "m.jsonl"
  (run,) = sweep.expand(LANGS[:1], ["mono"], [0], ["byte_crf"], root=str(root))
  finish(run, (*run.command, "--config.num_epochs=3"))
  read_only(root)
  assert sweep.main(["--langs", LANGS[0], "--designs", "mono", "--root", str(root),
                     "--manifest", str(manifest), "--move-stale"]) == 1
  assert capsys.readouterr().err == (f"sweep.py: error: cannot move the stale run {run.workdir} "
                                     f"to {run.workdir}.stale1: Permission denied\n")
  assert pathlib.Path(run.workdir, sweep.RESULTS_FILE).is_file() and not manifest.exists()


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


def test_bad_input_is_one_line(capsys):
  assert sweep.main(["--langs", "conll2002/es+a/b.c"]) == 1
  assert capsys.readouterr().err == (
      "sweep.py: error: language 'a/b.c' is not `corpus/lang` made of letters, digits, '_', '-'\n")


def test_languages_training_cannot_load_are_refused_before_the_manifest(tmp_path, capsys,
                                                                        monkeypatch):
  """Training's own message, when the manifest is written rather than when the run starts."""
  data = tmp_path / "data"
  for lang, splits in (("es", ("train", "dev", "test")), ("nl", ("train", "dev"))):
    (data / "conll2002" / lang).mkdir(parents=True)
    for split in splits:
      (data / "conll2002" / lang / f"{split}.txt").write_text("Juan B-PER\n")
  monkeypatch.setenv("POLYGLOT_NER_DATA", str(data))
  manifest = tmp_path / "m.jsonl"
  args = ["--designs", "mono", "--root", str(tmp_path / "runs"), "--manifest", str(manifest)]
  cases = [
      ("conll2002/es+conll2002/xx",
       f"no language 'xx' for conll2002 under {data}; available: es, nl"),
      ("conll2002/es+conll2002/nl", f"conll2002/nl has no test split under {data} "
                                    f"(expected {data}/conll2002/nl/test.txt); available splits: "
                                    "train, dev"),
      ("conll2002/es+foo/xx", "unknown corpus 'foo' in 'foo/xx'; known corpora: conll2002, "
                              "conll2003, demo, masakhaner, wikiann"),
      ("demo/aa+demo/zz", "unknown demo language 'zz'; demo languages: aa, bb, cc, dd"),
  ]
  for langs, message in cases:
    assert sweep.main(["--langs", langs, *args]) == 1
    assert capsys.readouterr().err == f"sweep.py: error: {message}\n"
    assert not manifest.exists()
  # A data root that is not on this machine leaves all but the corpus names to the runs.
  assert sweep.main(["--langs", "conll2002/xx", *args, "--extra",
                     "--config.data.root=/absent"]) == 0


def test_a_missing_config_and_an_unwritable_root_are_one_line(tmp_path, capsys, two_models):
  (tmp_path / "file").write_text("")
  cases = [
      (["--models", "byte_crf,bts", "--configs-dir", two_models, "--root", str(tmp_path / "runs")],
       f"config file {two_models}/bts.py of model 'bts' does not exist (--models names configs "
       "in --configs-dir)"),
      (["--configs-dir", two_models, "--root", str(tmp_path / "file" / "runs")],
       f"cannot write the manifest {tmp_path}/file/runs/manifest.jsonl: Not a directory"),
  ]
  for argv, message in cases:
    assert sweep.main(["--langs", "demo/aa", "--designs", "mono", *argv]) == 1
    assert capsys.readouterr().err == f"sweep.py: error: {message}\n"


def test_the_repository_configs_are_found_from_another_directory(tmp_path, capsys, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert sweep.main(["--langs", "demo/aa", "--designs", "mono", "--root", "runs"]) == 0
  assert "runs/manifest.jsonl: 1 runs, 0 finished, 1 to run" in capsys.readouterr().out
  (line,) = (tmp_path / "runs" / "manifest.jsonl").read_text().splitlines()
  command = json.loads(line)["command"]
  assert command[3] == f"{REPO}/configs/byte_crf.py:langs=demo/aa"
  assert dict(sweep.train_config(command).data.langs) == {"demo/aa": 1.0}


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
