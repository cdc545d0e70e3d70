"""Expands language sets into training runs and writes them as a manifest (JSON lines).

A sweep is designs (mono, polyglot, polyglot -> fine-tune, leave-one-out, pairs, subsets) x seeds x
model kinds, planned by `polyglot_ner.study.plan` as `polyglot-ner experiment` plans its runs. Every
run gets a canonical workdir named after what it trains on, so the same run requested by two
designs is one run, and a researcher can glob the results:

  <root>/<model>/seed<seed>/<langs>                  a model trained on a set of languages
  <root>/<model>/seed<seed>/<langs>.ft-<lang>        that model fine-tuned on one language

`<langs>` is the sorted set joined by "+", each `corpus/lang` written `corpus_lang`, e.g.
`byte_crf/seed0/conll2002_es+conll2002_nl+conll2003_en.ft-conll2002_es`; `<model>` names the config
`<configs-dir>/<model>.py` of its runs (default: the repository's configs/ folder, from wherever the
sweep runs). The manifest is run by launch/local.py, or submitted to SLURM by
launch/slurm_submit.py. Its languages are checked as training checks them before the manifest is
written (`corpora.check_language`: against the runs' data root when it is here).

A fine-tuned run follows `polyglot_ner.study.finetune_recipe` (as `polyglot-ner experiment` does): its
command adds the recipe's overrides (half the learning rate, ...) of the config it would have as a
run of its own; `--ft-lr` and `--ft-epochs` replace the recipe's values.

A run is finished when its workdir holds `results.json` recorded with the config its command gives
(`polyglot_ner.study.finished`: keys that only change logging or checkpointing do not count);
finished runs stay in the manifest, marked `"done": true`. A run finished with another config (say
`--extra "--config.num_epochs=20"` changed since), or whose parent is to be (re)trained, is stale:
training refuses to resume into its workdir, and silently keeping its old results would mix two
configs in one sweep. So the sweep lists the stale runs with what differs and writes no manifest,
unless `--move-stale` moves each stale workdir aside (to `<workdir>.stale<N>`, results kept) so that
the run trains afresh; or sweep into a new `--root`.

  python launch/sweep.py --langs conll2003/en+conll2002/es+conll2002/nl \
      --designs mono,polyglot,finetune --seeds 0,1,2 --models byte_crf --preset cpu \
      --root runs/sweep
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import re
import shlex
import sys
from collections.abc import Iterable, Iterator, Sequence

import ml_collections

from polyglot_ner import config as config_lib
from polyglot_ner.commands import flags as cli_flags
from polyglot_ner.data import corpora
from polyglot_ner.errors import NotFound
from polyglot_ner.errors import UserError
from polyglot_ner.study import finetune_recipe
from polyglot_ner.study import finished as finished_runs
from polyglot_ner.study import plan as run_plan

RESULTS_FILE = "results.json"


@dataclasses.dataclass(frozen=True)
class Job:
  """One training job: what it trains on, where it writes, and what must finish before it."""
  id: str
  workdir: str
  command: tuple[str, ...]
  deps: tuple[str, ...]
  designs: tuple[str, ...]
  langs: tuple[str, ...]
  seed: int
  model: str
  init_from: str | None
  done: bool
  stale: str = ""  # why a finished run is not this command's: "" when it is, or unfinished

  def to_json(self) -> dict:
    """The manifest line; `design` is the first of `designs` that asked for the run."""
    return {"id": self.id, "workdir": self.workdir, "command": list(self.command),
            "command_str": shlex.join(self.command), "deps": list(self.deps),
            "design": self.designs[0], "designs": list(self.designs), "langs": list(self.langs),
            "seed": self.seed, "model": self.model, "init_from": self.init_from,
            "done": self.done, "stale": self.stale}


def is_done(workdir: str | os.PathLike) -> bool:
  """Whether the run writing to `workdir` has finished (the training loop wrote results.json).

  The runners ask this of manifest entries, whose configs the sweep has checked (`expand`)."""
  return (pathlib.Path(workdir) / RESULTS_FILE).is_file()


def default_configs_dir() -> str:
  """The repository's configs/ folder: relative to the working directory when under it (`configs`
  from the repository root, as the commands have always read), else absolute, so that a sweep
  planned from another directory still finds its configs."""
  relative = os.path.relpath(config_lib.CONFIGS_DIR)
  return os.fspath(config_lib.CONFIGS_DIR) if relative.startswith(os.pardir) else relative


def train_config(command: Sequence[str]) -> ml_collections.ConfigDict:
  """The config that a `polyglot-ner train ...` command trains: its config file and arg with the
  command's `--config.*` overrides, parsed as `polyglot-ner train` parses them."""
  define = cli_flags.config_and_workdir_flags("config file and arg", "run directory")
  try:
    flag_values = cli_flags.parse_flags("polyglot-ner train", list(command[2:]), define,
                                        ("config", "workdir"))
  except cli_flags.UsageError as e:  # its message holds the usage too: keep the error's lines
    reason = [line for line in str(e).splitlines() if line.startswith("polyglot-ner train: ")]
    raise UserError(f"{shlex.join(command)}: " + " ".join(
        line.removeprefix("polyglot-ner train: ").removeprefix("error: ") for line in reason)
    ) from None
  return flag_values.config


def expand(langs: Sequence[str], designs: Sequence[str], seeds: Sequence[int],
           models: Sequence[str], root: str = "runs/sweep", *, max_subset: int | None = None,
           preset: str | None = None, extra: Sequence[str] = (), configs_dir: str | None = None,
           ft_epochs: int = 0, ft_lr: float = 0.0) -> list[Job]:
  """All runs of a sweep (`run_plan.expand`), each with its command and whether it is finished.

  Args:
    langs: `corpus/lang` names; each run trains on their sorted subset.
    designs: names from `run_plan.DESIGNS`; run order follows DESIGNS whatever the order given.
    seeds, models: one copy of every run per seed and model kind (`configs/<model>.py`).
    root: folder the workdirs go under.
    max_subset: largest subset for the "subsets" design (default: all languages).
    preset: flags appended to the config argument, e.g. "cpu".
    extra: arguments appended to every command, e.g. ["--config.num_epochs=20"].
    configs_dir: where `<model>.py` configs live (default: `default_configs_dir()`).
    ft_epochs, ft_lr: fine-tuning epochs and learning rate (0: `finetune_recipe`'s).
  """
  configs_dir = configs_dir or default_configs_dir()
  runs: dict[str, Job] = {}
  for planned in run_plan.expand(langs, designs, seeds, models, max_subset=max_subset):
    parent = runs[planned.parent] if planned.parent else None
    workdir = os.path.join(root, planned.id)
    config_file = f"{configs_dir}/{planned.model}.py"
    if not os.path.isfile(config_file):
      raise NotFound(f"config file {config_file} of model {planned.model!r} does not exist "
                     "(--models names configs in --configs-dir)")
    config_arg = f"{config_file}:langs={'+'.join(planned.langs)}"
    command = ["polyglot-ner", "train", "--config", config_arg + (f",{preset}" if preset else ""),
               f"--config.seed={planned.seed}"]
    if parent:
      command.append(f"--config.init_from={parent.workdir}")
    command += ["--workdir", workdir, *extra]
    config = train_config(command)
    for name in planned.langs:  # training's own error now, not when the run starts
      corpora.check_language(name, config.data.root)
    if parent:
      command += finetune_recipe.as_flags(finetune_recipe.overrides(
          config, num_epochs=ft_epochs, learning_rate=ft_lr))
      config = train_config(command)
    status = finished_runs.status(workdir, config)
    stale = ("config differs in " + "; ".join(status.differences)) if status.stale else ""
    if status.finished and parent and not parent.done:
      stale = f"its parent {parent.id} is not finished with its config"
    runs[planned.id] = Job(
        id=planned.id, workdir=workdir, command=tuple(command),
        deps=(parent.id,) if parent else (), designs=planned.designs, langs=planned.langs,
        seed=planned.seed, model=planned.model, init_from=parent.workdir if parent else None,
        done=status.finished and not stale, stale=stale)
  return list(runs.values())


def move_stale(runs: Iterable[Job]) -> Iterator[tuple[str, str]]:
  """Moves every stale run's workdir to the first free `<workdir>.stale<N>`, yielding each move
  once made (so that a move that fails, a UserError, comes after those made are reported)."""
  for run in runs:
    if run.stale:
      n = 1
      while os.path.exists(f"{run.workdir}.stale{n}"):
        n += 1
      target = f"{run.workdir}.stale{n}"
      try:
        os.rename(run.workdir, target)
      except OSError as e:
        raise UserError(f"cannot move the stale run {run.workdir} to {target}: "
                        f"{e.strerror or e}") from None
      yield run.workdir, target


def write_manifest(runs: Iterable[Job], path: str | os.PathLike) -> None:
  """Writes one JSON object per run (see Job.to_json), atomically."""
  path = pathlib.Path(path)
  tmp = path.with_name(path.name + ".tmp")
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("".join(json.dumps(run.to_json()) + "\n" for run in runs))
    tmp.replace(path)
  except OSError as e:
    raise UserError(f"cannot write the manifest {path}: {e.strerror or e}") from None


def read_manifest(path: str | os.PathLike) -> list[dict]:
  """Reads a manifest, checking that ids are unique and each run follows its dependencies."""
  entries, seen = [], set()
  for lineno, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
    if not line.strip():
      continue
    try:
      entry = json.loads(line)
      missing = [k for k in ("id", "workdir", "command", "deps") if k not in entry]
    except (json.JSONDecodeError, TypeError) as e:
      raise UserError(f"{path}:{lineno}: not a JSON object: {e}") from None
    if missing:
      raise UserError(f"{path}:{lineno}: missing key(s) {missing}")
    if entry["id"] in seen:
      raise UserError(f"{path}:{lineno}: duplicate id {entry['id']!r}")
    late = [d for d in entry["deps"] if d not in seen]
    if late:
      raise UserError(f"{path}:{lineno}: {entry['id']!r} depends on {late}, "
                       "which no earlier line defines")
    seen.add(entry["id"])
    entries.append(entry)
  return entries


def _split(value: str, sep: str = ",") -> list[str]:
  return [part for part in re.split(sep, value) if part]


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                   description=__doc__.split("\n\n")[0])
  parser.add_argument("--langs", required=True, help="corpus/lang names joined by '+' or ','")
  parser.add_argument("--designs", default="mono,polyglot,finetune",
                      help=f"comma-separated, from: {', '.join(run_plan.DESIGNS)}")
  parser.add_argument("--max-subset", type=int, help="largest subset for the 'subsets' design")
  parser.add_argument("--seeds", default="0", help="comma-separated integers")
  parser.add_argument("--models", default="byte_crf", help="comma-separated configs/<model>.py")
  parser.add_argument("--preset", help="flags appended to the config argument, e.g. cpu")
  parser.add_argument("--extra", action="append", default=[],
                      help="arguments appended to every command (repeatable)")
  parser.add_argument("--configs-dir",
                      help="folder of the <model>.py configs (default: the repository's configs/)")
  parser.add_argument("--ft-epochs", type=int, default=0,
                      help="fine-tuning epochs (default: the recipe's, as the parent)")
  parser.add_argument("--ft-lr", type=float, default=0.0,
                      help="fine-tuning learning rate (default: the recipe's, half the parent's)")
  parser.add_argument("--move-stale", action="store_true",
                      help="move the workdirs of runs finished with another config to "
                           "<workdir>.stale<N> and run them again")
  parser.add_argument("--root", default="runs/sweep", help="folder the workdirs go under")
  parser.add_argument("--manifest", help="output JSON lines (default: <root>/manifest.jsonl)")
  argv = sys.argv[1:] if argv is None else list(argv)
  for i in range(len(argv) - 1):  # argparse takes a value starting with '-' for an option
    if argv[i] == "--extra":
      argv[i:i + 2] = [f"--extra={argv[i + 1]}", ""]
  args = parser.parse_args([a for a in argv if a])

  def plan() -> list[Job]:
    return expand(_split(args.langs, "[+,]"), _split(args.designs),
                  [int(s) for s in _split(args.seeds)], _split(args.models), args.root,
                  max_subset=args.max_subset, preset=args.preset,
                  extra=[a for e in args.extra for a in shlex.split(e)],
                  configs_dir=args.configs_dir, ft_epochs=args.ft_epochs, ft_lr=args.ft_lr)

  try:
    runs = plan()
    stale = [run for run in runs if run.stale]
    if stale and not args.move_stale:
      for run in stale:
        print(f"stale: {run.id}: {run.stale}", file=sys.stderr)
      raise UserError(f"{len(stale)} finished run(s) do not match their commands (listed above); "
                      "add --move-stale to move their workdirs aside and run them again, or "
                      "sweep into a new --root")
    for old, new in move_stale(stale):
      print(f"moved stale {old} to {new}")
    runs = plan() if stale else runs
    manifest = args.manifest or os.path.join(args.root, "manifest.jsonl")
    write_manifest(runs, manifest)
  except UserError as e:
    print(f"{parser.prog}: error: {e}", file=sys.stderr)
    return 1
  except ValueError as e:
    parser.error(str(e))
  done = sum(run.done for run in runs)
  print(f"{manifest}: {len(runs)} runs, {done} finished, {len(runs) - done} to run")
  return 0


if __name__ == "__main__":
  sys.exit(main())
