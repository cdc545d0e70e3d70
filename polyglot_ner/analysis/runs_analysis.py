"""The parameter-sharing analysis of trained runs: an experiment's workdir, or one run, to a report.

An experiment workdir (`polyglot-ner experiment`, or a directory of runs laid out otherwise) holds
a polyglot run, the monolingual runs of its languages and the polyglot run's fine-tuned children.
The runs are found by what their checkpoints say, not by their folder names: every folder below
the workdir holding `checkpoints/` is a run, whose meta gives its languages, model kind, seed and
parent (`polyglot_ner.train.lineage`). The experiment's languages, model kind and first seed come
from its `config.json` or `results.json` when present (else: the run on the most languages). Then,
of the experiment's model kind:

  polyglot   the run on all the languages, trained from scratch, of the analysed seed
  mono       a run on one of them, trained from scratch, of any seed (the analysed seed's are the
             baseline of the polyglot overlap; every seed's, the seeds baseline)
  children   a run on one of them fine-tuned from the polyglot run

Monolingual runs of more seeds come from the experiment's `seeds=`, or from a second experiment
of the same config with `--config.stages=mono` and other seeds in a folder below the workdir
(README, "The parameter-sharing analysis"). The polyglot run's importance on each language's
`split`, its overlap, pruning (scored on the same sentences), each child's shift and own
importance, and the monolingual runs' overlap as baselines, go through `pipeline.analyze`. A
single run workdir (or checkpoint path) gets importance, overlap and pruning for its own
languages.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

from etils import epath

from polyglot_ner import errors
from polyglot_ner import runs as runs_lib
from polyglot_ner.analysis import examples as examples_lib
from polyglot_ner.analysis import importance as importance_lib
from polyglot_ner.analysis import masks as masks_lib
from polyglot_ner.analysis import pipeline
from polyglot_ner.analysis import shift as shift_lib
from polyglot_ner.train import checkpoint as checkpoint_lib

OUTPUT_DIR = "analysis"  # the report's default folder inside the analysed workdir
EXPERIMENT_FILES = ("config.json", "results.json")  # an experiment's description, first found


@dataclasses.dataclass(frozen=True)
class RunInfo:
  """What a run's checkpoint meta says about it."""

  workdir: epath.Path
  languages: tuple[str, ...]
  model_kind: str
  seed: int
  step: int
  parent: dict[str, Any] | None  # the parent's record (fine-tuned runs)


@dataclasses.dataclass(frozen=True)
class Found:
  """The runs of one analysis: the analysed run (the polyglot one) and its baselines."""

  languages: tuple[str, ...]
  polyglot: epath.Path  # a run workdir or checkpoint path
  mono: dict[int, dict[str, epath.Path]]  # {seed: {language: run}}, the polyglot run's seed first
  children: dict[str, epath.Path]


def read_run(workdir: epath.Path) -> RunInfo | None:
  """The meta of a run's best checkpoint (else its latest); None for a run with no checkpoint."""
  with checkpoint_lib.Checkpoints(workdir, read_only=True) as checkpoints:
    slot = next((k for k in (checkpoint_lib.BEST, checkpoint_lib.LATEST)
                 if checkpoints.step(k) is not None), None)
    if slot is None:
      return None
    meta = checkpoints.meta(slot)
  config = meta["config"]
  return RunInfo(workdir, tuple(meta["languages"]), config["model_kind"], int(config["seed"]),
                 int(meta["step"]), meta.get("parent"))


def run_dirs(root: epath.Path) -> Iterator[epath.Path]:
  """Every folder below `root` that holds `checkpoints/` (not looking inside a run)."""
  for child in sorted(root.iterdir()):
    if not child.is_dir() or child.name.startswith("."):
      continue
    if (child / "checkpoints").is_dir():
      yield child
    else:
      yield from run_dirs(child)


def _experiment(root: epath.Path) -> dict[str, Any] | None:
  """{langs, model_kind, seeds} of an experiment workdir, from its files; None without them."""
  for name in EXPERIMENT_FILES:
    path = root / name
    if path.is_file():
      described = json.loads(path.read_text())
      if {"langs", "model_kind", "seeds"} <= set(described):
        return described
  return None


def _is_parent(run: RunInfo, polyglot: RunInfo) -> bool:
  """Whether `run` was fine-tuned from `polyglot`'s checkpoint: the same workdir, or (a moved
  experiment) the same languages and step."""
  parent = run.parent
  if not parent:
    return False
  if checkpoint_lib.run_path(parent["workdir"]) == polyglot.workdir:
    return True
  return (set(parent["languages"]) == set(polyglot.languages)
          and int(parent["step"]) == polyglot.step)


def _one(found: list[RunInfo], what: str, root: epath.Path) -> RunInfo | None:
  if len(found) > 1:
    listed = ", ".join(os.fspath(run.workdir) for run in found)
    raise errors.UserError(f"{root} holds {len(found)} {what} ({listed}); analyse one of them "
                           "with --workdir <run>")
  return found[0] if found else None


def find_runs(workdir: str | os.PathLike, *, run_seed: int | None = None) -> Found:
  """The runs to analyse under `workdir`: one run (a run workdir or checkpoint path) or an
  experiment's polyglot run with its monolingual runs and fine-tuned children of seed `run_seed`
  (default: the experiment's first seed)."""
  path = checkpoint_lib.run_path(workdir)
  if not path.is_dir():
    raise errors.UserError(f"{os.fspath(workdir)} is not a directory")
  try:
    run_workdir, slot, step = checkpoint_lib.locate(path)
  except errors.NotFound:
    pass
  else:
    with checkpoint_lib.Checkpoints(run_workdir, read_only=True) as checkpoints:
      if step is None and checkpoints.step(slot) is None:
        slot = checkpoint_lib.LATEST  # a run that has not evaluated yet
      languages = tuple(checkpoints.meta(slot, step)["languages"])
    return Found(languages, path, {}, {})

  infos = [info for info in map(read_run, run_dirs(path)) if info is not None]
  if not infos:
    raise errors.UserError(f"{os.fspath(workdir)} holds no run with a checkpoint (neither a run "
                           "workdir nor an experiment's)")
  described = _experiment(path)
  if described is not None:
    languages, model_kind = tuple(described["langs"]), described["model_kind"]
    seeds = [int(s) for s in described["seeds"]]
  else:
    widest = max(len(info.languages) for info in infos if not info.parent)
    candidates = [info for info in infos if not info.parent and len(info.languages) == widest]
    languages, model_kind = candidates[0].languages, candidates[0].model_kind
    seeds = sorted({info.seed for info in candidates})
  seed = seeds[0] if run_seed is None else run_seed
  infos = [info for info in infos if info.model_kind == model_kind]
  scratch = [info for info in infos if not info.parent]
  polyglot = _one([i for i in scratch if set(i.languages) == set(languages) and i.seed == seed],
                  f"{model_kind} polyglot runs of seed {seed} on {'+'.join(languages)}", path)
  if polyglot is None:
    raise errors.UserError(f"{os.fspath(workdir)} holds no {model_kind} polyglot run of seed "
                           f"{seed} on {'+'.join(languages)} (with a checkpoint)")
  mono, children = {}, {}
  for mono_seed in sorted({i.seed for i in scratch}, key=lambda s: (s != seed, s)):
    for lang in languages:
      one = _one([i for i in scratch if i.languages == (lang,) and i.seed == mono_seed],
                 f"{model_kind} monolingual runs of seed {mono_seed} on {lang}", path)
      if one is not None:
        mono.setdefault(mono_seed, {})[lang] = one.workdir
  for lang in languages:
    child = _one([i for i in infos if i.languages == (lang,) and i.seed == seed
                  and _is_parent(i, polyglot)],
                 f"fine-tuned children on {lang} of {polyglot.workdir}", path)
    if child is not None:
      children[lang] = child.workdir
  return Found(languages, polyglot.workdir, mono, children)


def analyze(workdir: str | os.PathLike, output: str | os.PathLike | None = None, *,
            split: str = "dev", methods: Sequence[str] = (importance_lib.DEFAULT_METHOD,),
            fractions: Sequence[float] = masks_lib.DEFAULT_FRACTIONS,
            pruning_fractions: Sequence[float] | None = None, pruning: bool = True,
            max_sentences: int | None = None, num_samples: int = 1, seed: int = 0,
            run_seed: int | None = None, shift_measure: str = shift_lib.DEFAULT_MEASURE,
            chunk_size: int = examples_lib.DEFAULT_CHUNK_SIZE,
            data_root: str | os.PathLike | None = None, focus: float | None = None,
            progress: bool = True) -> pipeline.Analysis:
  """Analyses the runs of `workdir` (`find_runs`) and writes the report to `output` (default
  `<workdir>/analysis`); returns the `pipeline.Analysis`.

  Every model reads each language's `split` (at most `max_sentences` of it, a seeded sample) as
  its own examples (its own label ids); pruning scores the polyglot run on the same sentences.
  `seed` drives that sample, the true Fisher's labels and the random baselines; `run_seed` picks
  the experiment's seed (default its first). `shift_measure`: see `shift.MEASURES`.
  """
  started = time.perf_counter()
  importance_lib.check_methods(methods)
  shift_lib.check_measure(shift_measure)
  found = find_runs(workdir, run_seed=run_seed)
  root = checkpoint_lib.run_path(workdir)
  output = epath.Path(output) if output is not None else root / OUTPUT_DIR
  say = print if progress else (lambda *args, **kwargs: None)

  def shown(path: epath.Path) -> str:
    return os.fspath(path.relative_to(root)) if path != root and root in path.parents else "."

  say(f"analysing {shown(found.polyglot)} on {', '.join(found.languages)} ({split})", flush=True)
  polyglot = runs_lib.load(found.polyglot)
  subset = dict(max_sentences=max_sentences, seed=seed, data_root=data_root)

  def examples(run: runs_lib.Run, lang: str) -> examples_lib.Examples:
    return run.examples(run.sentences(lang, split, **subset), lang, chunk_size)

  def models(paths: dict[str, epath.Path], what: str
             ) -> tuple[dict[str, importance_lib.Model], dict[str, examples_lib.Examples]]:
    """The runs {language: path} as importance models and their examples of that language."""
    runs = {}
    for lang, path in paths.items():
      say(f"  {what} {lang}: {shown(path)}", flush=True)
      runs[lang] = runs_lib.load(path)
    return ({lang: run.importance_model() for lang, run in runs.items()},
            {lang: examples(run, lang) for lang, run in runs.items()})

  data = {lang: examples(polyglot, lang) for lang in found.languages}
  mono, mono_data = {}, {}
  for mono_seed, paths in found.mono.items():
    mono[mono_seed], mono_data[mono_seed] = models(paths, f"monolingual, seed {mono_seed},")
  children, children_data = models(found.children, "fine-tuned on")
  score = polyglot.scorer(split, found.languages, **subset) if pruning else None
  meta = {"workdir": os.fspath(root),
          "analysed run": f"{shown(found.polyglot)} ({polyglot.checkpoint} step {polyglot.step})",
          "model kind": polyglot.config.model_kind, "split": split,
          "Fisher example": polyglot.kind.row_likelihood,
          "sentences per language": {lang: len(d) for lang, d in data.items()},
          "examples per language": {lang: d.num_examples for lang, d in data.items()},
          "monolingual runs": {f"seed {s} {lang}": shown(p) for s, paths in found.mono.items()
                               for lang, p in paths.items()},
          "fine-tuned runs": {lang: shown(p) for lang, p in found.children.items()}}
  result = pipeline.analyze(
      os.fspath(output), polyglot.importance_model(), data, methods=methods,
      fractions=fractions, num_samples=num_samples, score=score,
      pruning_fractions=pruning_fractions, mono=mono, mono_data=mono_data,
      children=children, children_data=children_data, shift_measure=shift_measure, focus=focus,
      seed=seed, mesh=polyglot.mesh, progress=progress,
      totals={lang: d.num_examples for lang, d in data.items()}, chunk_rows=chunk_size, meta=meta)
  say(f"wrote {result.report} in {time.perf_counter() - started:.0f} s", flush=True)
  return result
