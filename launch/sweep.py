"""Expands language sets into training runs and writes them as a manifest (JSON lines).

A sweep is designs (mono, polyglot, polyglot -> fine-tune, leave-one-out, pairs, subsets) x seeds x
model kinds. Every run gets a canonical workdir named after what it trains on, so the same run
requested by two designs is one run, and a researcher can glob the results:

  <root>/<model>/seed<seed>/<langs>                  a model trained on a set of languages
  <root>/<model>/seed<seed>/<langs>.ft-<lang>        that model fine-tuned on one language

`<langs>` is the sorted set joined by "+", each `corpus/lang` written `corpus_lang`, e.g.
`byte_crf/seed0/conll2002_es+conll2002_nl+conll2003_en.ft-conll2002_es`. The manifest is run by
launch/local.py, or submitted to SLURM by launch/slurm_submit.py. A run is finished when its
workdir holds `results.json`; finished runs stay in the manifest, marked `"done": true`.

  python launch/sweep.py --langs conll2003/en+conll2002/es+conll2002/nl \
      --designs mono,polyglot,finetune --seeds 0,1,2 --models byte_crf --preset cpu \
      --root runs/sweep
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import os
import pathlib
import re
import shlex
import sys
from collections.abc import Iterable, Sequence

RESULTS_FILE = "results.json"
DESIGNS = ("mono", "polyglot", "finetune", "leave_one_out", "leave_one_out_ft", "pairs",
           "subsets")
LANG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*")
PARENT_DESIGN = {"finetune": "polyglot", "leave_one_out_ft": "leave_one_out"}
MAX_NAME_CHARS = 200  # File names longer than 255 bytes fail on common filesystems.


@dataclasses.dataclass(frozen=True)
class Run:
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

  def to_json(self) -> dict:
    """The manifest line; `design` is the first of `designs` that asked for the run."""
    return {"id": self.id, "workdir": self.workdir, "command": list(self.command),
            "command_str": shlex.join(self.command), "deps": list(self.deps),
            "design": self.designs[0], "designs": list(self.designs), "langs": list(self.langs),
            "seed": self.seed, "model": self.model, "init_from": self.init_from,
            "done": self.done}


def is_done(workdir: str | os.PathLike) -> bool:
  """Whether the run writing to `workdir` has finished (the training loop wrote results.json)."""
  return (pathlib.Path(workdir) / RESULTS_FILE).is_file()


def lang_slug(lang: str) -> str:
  """`conll2003/en` -> `conll2003_en`: a language as a file-name part."""
  if not LANG_PATTERN.fullmatch(lang):
    raise ValueError(f"language {lang!r} is not `corpus/lang` made of letters, digits, '_', '-'")
  return lang.replace("/", "_")


def langs_name(langs: Iterable[str]) -> str:
  """The canonical name of a language set: sorted slugs joined by '+' (hashed when too long)."""
  slugs = sorted(lang_slug(lang) for lang in langs)
  name = "+".join(slugs)
  if len(name) > MAX_NAME_CHARS:
    name = f"{len(slugs)}langs-{hashlib.sha1(name.encode()).hexdigest()[:12]}"
  return name


def _design_sets(design: str, langs: Sequence[str],
                 max_subset: int) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
  """(training languages, languages to fine-tune on) pairs that a design asks for."""
  if design == "mono":
    return [((lang,), ()) for lang in langs]
  if design == "polyglot":
    return [(tuple(langs), ())]
  if design == "finetune":  # one language: the polyglot model is the mono one, nothing to tune
    return [(tuple(langs), tuple(langs) if len(langs) > 1 else ())]
  if design in ("leave_one_out", "leave_one_out_ft"):
    if len(langs) < 2:
      return []
    fine_tune = design == "leave_one_out_ft"
    return [(tuple(l for l in langs if l != held_out), (held_out,) if fine_tune else ())
            for held_out in langs]
  if design == "pairs":
    return [(pair, ()) for pair in itertools.combinations(langs, 2)]
  assert design == "subsets", design  # expand() checked the names
  return [(subset, ()) for size in range(1, max_subset + 1)
          for subset in itertools.combinations(langs, size)]


def expand(langs: Sequence[str], designs: Sequence[str], seeds: Sequence[int],
           models: Sequence[str], root: str = "runs/sweep", *, max_subset: int | None = None,
           preset: str | None = None, extra: Sequence[str] = (),
           configs_dir: str = "configs") -> list[Run]:
  """All runs of a sweep, de-duplicated, every run after the runs it depends on.

  Args:
    langs: `corpus/lang` names; each run trains on their sorted subset.
    designs: names from DESIGNS; run order follows DESIGNS whatever the order given.
    seeds, models: one copy of every run per seed and model kind (`configs/<model>.py`).
    root: folder the workdirs go under.
    max_subset: largest subset for the "subsets" design (default: all languages).
    preset: flags appended to the config argument, e.g. "cpu".
    extra: arguments appended to every command, e.g. ["--config.train.steps=100"].
    configs_dir: where `<model>.py` configs live.
  """
  langs = sorted(dict.fromkeys(langs), key=lang_slug)
  if not langs:
    raise ValueError("no languages given")
  if len({lang_slug(lang) for lang in langs}) != len(langs):
    raise ValueError(f"languages {langs} collide once '/' becomes '_'")
  unknown = [d for d in designs if d not in DESIGNS]
  if unknown:
    raise ValueError(f"unknown design(s) {unknown}; choose from {', '.join(DESIGNS)}")
  max_subset = len(langs) if max_subset is None else max_subset
  runs: dict[str, Run] = {}

  def add(run: Run) -> None:
    if run.id in runs:
      merged = tuple(dict.fromkeys(runs[run.id].designs + run.designs))
      run = dataclasses.replace(runs[run.id], designs=merged)
    runs[run.id] = run

  def make(model: str, seed: int, train_langs: tuple[str, ...], design: str,
           parent: Run | None = None) -> Run:
    name = langs_name(train_langs)
    run_id = f"{model}/seed{seed}/" + (f"{parent.id.rsplit('/', 1)[1]}.ft-{name}" if parent
                                        else name)
    workdir = os.path.join(root, run_id)
    config_arg = f"{configs_dir}/{model}.py:langs={'+'.join(train_langs)}"
    command = ["polyglot-ner", "train", "--config", config_arg + (f",{preset}" if preset else ""),
               f"--config.seed={seed}"]
    if parent:
      command.append(f"--config.init_from={parent.workdir}")
    command += ["--workdir", workdir, *extra]
    return Run(id=run_id, workdir=workdir, command=tuple(command),
               deps=(parent.id,) if parent else (), designs=(design,), langs=train_langs,
               seed=seed, model=model, init_from=parent.workdir if parent else None,
               done=is_done(workdir))

  for model, seed in itertools.product(models, seeds):
    for design in (d for d in DESIGNS if d in designs):
      for train_langs, fine_tune_langs in _design_sets(design, langs, max_subset):
        parent = make(model, seed, train_langs, PARENT_DESIGN.get(design, design))
        add(parent)
        for lang in fine_tune_langs:
          add(make(model, seed, (lang,), design, parent))
  return list(runs.values())


def write_manifest(runs: Iterable[Run], path: str | os.PathLike) -> None:
  """Writes one JSON object per run (see Run.to_json), atomically."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text("".join(json.dumps(run.to_json()) + "\n" for run in runs))
  tmp.replace(path)


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
      raise ValueError(f"{path}:{lineno}: not a JSON object: {e}") from None
    if missing:
      raise ValueError(f"{path}:{lineno}: missing key(s) {missing}")
    if entry["id"] in seen:
      raise ValueError(f"{path}:{lineno}: duplicate id {entry['id']!r}")
    late = [d for d in entry["deps"] if d not in seen]
    if late:
      raise ValueError(f"{path}:{lineno}: {entry['id']!r} depends on {late}, "
                       "which no earlier line defines")
    seen.add(entry["id"])
    entries.append(entry)
  return entries


def _split(value: str, sep: str = ",") -> list[str]:
  return [part for part in re.split(sep, value) if part]


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--langs", required=True, help="corpus/lang names joined by '+' or ','")
  parser.add_argument("--designs", default="mono,polyglot,finetune",
                      help=f"comma-separated, from: {', '.join(DESIGNS)}")
  parser.add_argument("--max-subset", type=int, help="largest subset for the 'subsets' design")
  parser.add_argument("--seeds", default="0", help="comma-separated integers")
  parser.add_argument("--models", default="byte_crf", help="comma-separated configs/<model>.py")
  parser.add_argument("--preset", help="flags appended to the config argument, e.g. cpu")
  parser.add_argument("--extra", action="append", default=[],
                      help="arguments appended to every command (repeatable)")
  parser.add_argument("--configs-dir", default="configs")
  parser.add_argument("--root", default="runs/sweep", help="folder the workdirs go under")
  parser.add_argument("--manifest", help="output JSON lines (default: <root>/manifest.jsonl)")
  argv = sys.argv[1:] if argv is None else list(argv)
  for i in range(len(argv) - 1):  # argparse takes a value starting with '-' for an option
    if argv[i] == "--extra":
      argv[i:i + 2] = [f"--extra={argv[i + 1]}", ""]
  args = parser.parse_args([a for a in argv if a])
  try:
    runs = expand(_split(args.langs, "[+,]"), _split(args.designs),
                  [int(s) for s in _split(args.seeds)], _split(args.models), args.root,
                  max_subset=args.max_subset, preset=args.preset,
                  extra=[a for e in args.extra for a in shlex.split(e)],
                  configs_dir=args.configs_dir)
  except ValueError as e:
    parser.error(str(e))
  manifest = args.manifest or os.path.join(args.root, "manifest.jsonl")
  write_manifest(runs, manifest)
  done = sum(run.done for run in runs)
  print(f"{manifest}: {len(runs)} runs, {done} finished, {len(runs) - done} to run")
  return 0


if __name__ == "__main__":
  sys.exit(main())
