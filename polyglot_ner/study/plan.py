"""Which runs a study trains and where each one writes, for `polyglot-ner experiment` and
launch/sweep.py alike, so that a run has one name whoever asks for it.

A run trains one model kind with one seed on a set of languages, from scratch or fine-tuning the
best checkpoint of a parent run. Its workdir, relative to the study's root (the experiment's
`--workdir`, the sweep's `--root`), is named after what it trains on:

  <model>/seed<seed>/<langs>                 a model trained on a set of languages
  <model>/seed<seed>/<langs>.ft-<lang>       that model fine-tuned on one language

`<langs>` is the set's sorted slugs joined by "+", a slug being `corpus/lang` written `corpus_lang`
(the set is hashed when the name would be too long for a file system), e.g.
`byte_crf/seed0/conll2002_es+conll2002_nl+conll2003_en.ft-conll2002_es`. A run trains on its
languages in that sorted order, so that one workdir always holds one run.

A design turns the study's languages into runs (DESIGNS): `mono` (each language alone), `polyglot`
(all of them), `finetune` (the polyglot run and one fine-tuned child per language),
`leave_one_out`, `leave_one_out_ft` (each leave-one-out run fine-tuned on the language it left
out), `pairs`, `subsets` (every subset up to a size). A run that two designs ask for is one run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence

from polyglot_ner.errors import UserError

DESIGNS = ("mono", "polyglot", "finetune", "leave_one_out", "leave_one_out_ft", "pairs",
           "subsets")
PARENT_DESIGN = {"finetune": "polyglot", "leave_one_out_ft": "leave_one_out"}
LANG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*")
MAX_NAME_CHARS = 200  # File names longer than 255 bytes fail on common file systems.
FINETUNE_MARK = ".ft-"


@dataclasses.dataclass(frozen=True)
class PlannedRun:
  """One run of a study: what it trains on, its workdir under the root, the run it fine-tunes."""

  id: str  # the workdir relative to the study's root, see the module docstring
  model: str
  seed: int
  langs: tuple[str, ...]  # sorted by slug: the order the run trains on them
  designs: tuple[str, ...]  # the designs that ask for it, in the order of DESIGNS
  parent: str | None = None  # id of the run whose best checkpoint this one fine-tunes


def lang_slug(lang: str) -> str:
  """`conll2003/en` -> `conll2003_en`: a language as a file name (workdirs, prediction files)."""
  if not LANG_PATTERN.fullmatch(lang):
    raise UserError(f"language {lang!r} is not `corpus/lang` made of letters, digits, '_', '-'")
  return lang.replace("/", "_")


def langs_name(langs: Iterable[str]) -> str:
  """The canonical name of a language set: sorted slugs joined by '+' (hashed when too long)."""
  slugs = sorted(lang_slug(lang) for lang in langs)
  name = "+".join(slugs)
  if len(name) > MAX_NAME_CHARS:
    name = f"{len(slugs)}langs-{hashlib.sha1(name.encode()).hexdigest()[:12]}"
  return name


def run_id(model: str, seed: int, langs: Iterable[str],
           parent_langs: Iterable[str] | None = None) -> str:
  """The workdir (relative to the root) of `model` trained on `langs` with `seed`, fine-tuning
  the same model and seed trained on `parent_langs` when given."""
  name = langs_name(langs)
  if parent_langs is not None:
    name = langs_name(parent_langs) + FINETUNE_MARK + name
  return f"{model}/seed{seed}/{name}"


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


def _canonical_langs(langs: Iterable[str]) -> list[str]:
  """`langs` without repeats, sorted by slug; an error for a bad name or two equal slugs."""
  langs = sorted(dict.fromkeys(langs), key=lang_slug)
  if not langs:
    raise UserError("no languages given")
  if len({lang_slug(lang) for lang in langs}) != len(langs):
    raise UserError(f"languages {langs} collide once '/' becomes '_'")
  return langs


def expand(langs: Iterable[str], designs: Sequence[str], seeds: Sequence[int],
           models: Sequence[str], *, max_subset: int | None = None) -> list[PlannedRun]:
  """All runs of designs x seeds x models, de-duplicated, every run after the run it fine-tunes.

  The order: models, then seeds, then designs in the order of DESIGNS (whatever the order given),
  then the design's language sets; each fine-tuned run right after the others of its parent.
  `max_subset` is the largest subset of the "subsets" design (default: all the languages).
  """
  langs = _canonical_langs(langs)
  unknown = [d for d in designs if d not in DESIGNS]
  if unknown:
    raise UserError(f"unknown design(s) {unknown}; choose from {', '.join(DESIGNS)}")
  max_subset = len(langs) if max_subset is None else max_subset
  runs: dict[str, PlannedRun] = {}

  def add(run: PlannedRun) -> None:
    if run.id in runs:
      merged = tuple(dict.fromkeys(runs[run.id].designs + run.designs))
      run = dataclasses.replace(runs[run.id], designs=merged)
    runs[run.id] = run

  for model, seed in itertools.product(models, seeds):
    for design in (d for d in DESIGNS if d in designs):
      for train_langs, fine_tune_langs in _design_sets(design, langs, max_subset):
        parent = run_id(model, seed, train_langs)
        add(PlannedRun(parent, model, seed, train_langs, (PARENT_DESIGN.get(design, design),)))
        for lang in fine_tune_langs:
          add(PlannedRun(run_id(model, seed, (lang,), train_langs), model, seed, (lang,),
                         (design,), parent))
  return list(runs.values())
