"""The whole parameter-sharing analysis of one polyglot model, from abstract inputs to the report.

Model-independent: a model is an `importance.Model` (parameters, per-example loss, optional label
sampler), data is {language: re-iterable chunks of examples}, and pruning calls `score(params) ->
{language: F1}`. Steps (research-notes §6):

1. importance of the polyglot model's parameters on each language's data, for every method; the
   same for each separately trained monolingual model and each fine-tuned child on its own
   language;
2. overlap of the languages' top-k sets, for every method; the same for the monolingual models of
   the first seed as a baseline, and the seeds baseline over the monolingual models of every seed
   (`overlap.seeds`: what a shared initialisation adds to their overlap);
3. pruning each language's top-k set and scoring every language (with `score`);
4. fine-tuning shift of each child fine-tuned from the polyglot model, and its own importance
   against the parent's (`finetune_importance`);
5. the report (`report.write`).

Pruning, the shift, the seeds baseline and the children's importance rank by the first of
`methods` (the empirical Fisher by default).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jax
from jax.sharding import Mesh

from polyglot_ner.analysis import finetune_importance as finetune_lib
from polyglot_ner.analysis import importance as importance_lib
from polyglot_ner.analysis import masks as masks_lib
from polyglot_ner.analysis import overlap as overlap_lib
from polyglot_ner.analysis import pruning as pruning_lib
from polyglot_ner.analysis import report as report_lib
from polyglot_ner.analysis import shift as shift_lib
from polyglot_ner.train import step as step_lib

POLYGLOT, MONO, FINETUNED = overlap_lib.POLYGLOT, overlap_lib.MONO, "finetuned"


@dataclasses.dataclass(frozen=True)
class Analysis:
  """Everything the analysis computed, for notebooks; the report holds the same numbers."""

  # {setting: {language: {method: importance tree}}}: "polyglot", "mono" (the first seed's
  # monolingual models), "mono_seed<s>" (another seed's), "finetuned" (the children's own)
  importances: dict[str, dict[str, dict[str, importance_lib.Importance]]]
  overlaps: tuple[overlap_lib.Overlap, ...]
  pruning: pruning_lib.Pruning | None
  shifts: tuple[shift_lib.Shift, ...]
  seeds: overlap_lib.Seeds | None  # with monolingual models of two or more seeds
  finetune: finetune_lib.FinetuneImportance | None
  meta: dict[str, Any]
  report: Any  # the path of analysis.md


def analyze(out_dir: str, model: importance_lib.Model, data: Mapping[str, Iterable[Any]], *,
            methods: Sequence[str] = (importance_lib.DEFAULT_METHOD,),
            fractions: Sequence[float] = masks_lib.DEFAULT_FRACTIONS, num_samples: int = 1,
            score: pruning_lib.Score | None = None,
            pruning_fractions: Sequence[float] | None = None,
            mono: Mapping[int, Mapping[str, importance_lib.Model]] | None = None,
            mono_data: Mapping[int, Mapping[str, Iterable[Any]]] | None = None,
            children: Mapping[str, importance_lib.Model] | None = None,
            children_data: Mapping[str, Iterable[Any]] | None = None,
            controls: Sequence[str] = pruning_lib.CONTROLS, focus: float | None = None,
            eps: float = shift_lib.DEFAULT_EPS, shift_measure: str = shift_lib.DEFAULT_MEASURE,
            seed: int = 0, mesh: Mesh | None = None,
            progress: bool = True, totals: Mapping[str, int] | None = None,
            chunk_rows: int = 0, meta: Mapping[str, Any] | None = None) -> Analysis:
  """Runs the analysis of `model` (the polyglot one) and writes its report under `out_dir`.

  `data`: {language: chunks of examples} (re-iterable, e.g. lists: the monolingual models read
  them again). `score`: F1 of every language for pruning (skipped without it), called
  1 + (2 * languages + 1) * len(pruning_fractions) times (default: `fractions`). `mono`:
  {seed: {language: that language's monolingual model of that seed}}, the first seed's the
  baseline of the polyglot overlap (give the polyglot model's first), each read on
  `mono_data[seed][language]` (default: `data[language]`; a model whose examples differ, e.g. in
  label ids, needs its own). `children`: {language: the child fine-tuned on it from `model`},
  read on `children_data[language]` (default: `data[language]`). `totals`:
  examples per language, for progress bars. `chunk_rows`: see `importance.Estimator`. `meta`:
  JSON-able facts for the report's head (checkpoints, split, ...). `shift_measure`: how the
  children's movement is measured (`shift.MEASURES`).
  """
  methods = importance_lib.check_methods(methods, model)
  fractions = masks_lib.check_fractions(fractions)
  shift_lib.check_measure(shift_measure)
  mesh = step_lib.make_mesh() if mesh is None else mesh
  rng = jax.random.key(seed)
  seconds = {}
  estimate = dict(methods=methods, num_samples=num_samples, mesh=mesh, progress=progress,
                  totals=totals, chunk_rows=chunk_rows)

  def own_language(models: Mapping[str, importance_lib.Model], own_data: Mapping[str, Iterable[Any]]
          ) -> dict[str, dict[str, importance_lib.Importance]]:
    """{language: {method: tree}} of models {language: model}, each on its own language."""
    return {lang: importance_lib.per_language(models[lang], {lang: own_data.get(lang, chunks)},
                                              rng=rng, **estimate)[lang]
            for lang, chunks in data.items() if lang in models}

  start = time.perf_counter()
  importances = {POLYGLOT: importance_lib.per_language(model, data, rng=rng, **estimate)}
  seconds["importance"] = time.perf_counter() - start
  mono = mono or {}
  settings = {mono_seed: f"{MONO}_seed{mono_seed}" if number else MONO
              for number, mono_seed in enumerate(mono)}
  if mono:
    start = time.perf_counter()
    for mono_seed, models in mono.items():
      importances[settings[mono_seed]] = own_language(models, (mono_data or {}).get(mono_seed, {}))
    seconds["importance_mono"] = time.perf_counter() - start
  if children:
    start = time.perf_counter()
    importances[FINETUNED] = own_language(children, children_data or {})
    seconds["importance_finetuned"] = time.perf_counter() - start

  start = time.perf_counter()
  overlaps = tuple(
      overlap_lib.overlap({lang: by_method[method] for lang, by_method in setting.items()},
                          fractions, setting=name, method=method, seed=seed)
      for name, setting in importances.items() if name in (POLYGLOT, MONO) for method in methods)
  seeds = None
  if len(mono) > 1:
    seeds = overlap_lib.seeds({(lang, mono_seed): by_method[methods[0]]
                               for mono_seed, name in settings.items()
                               for lang, by_method in importances[name].items()},
                              fractions, method=methods[0])
  seconds["overlap"] = time.perf_counter() - start

  ranking = {lang: by_method[methods[0]] for lang, by_method in importances[POLYGLOT].items()}
  params = jax.device_get(model.params)
  pruned = None
  if score is not None:
    start = time.perf_counter()
    pruned = pruning_lib.pruning(model.params, ranking, score, pruning_fractions or fractions,
                                 controls=controls, seed=seed, progress=progress)
    seconds["pruning"] = time.perf_counter() - start
  shifts, finetune = (), None
  if children:
    start = time.perf_counter()
    shifts = tuple(shift_lib.shift(params, jax.device_get(child.params), ranking, fractions,
                                   child_name=lang, measure=shift_measure, eps=eps)
                   for lang, child in children.items())
    finetune = finetune_lib.finetune_importance(
        ranking, {lang: by_method[methods[0]]
                  for lang, by_method in importances[FINETUNED].items()},
        fractions, method=methods[0])
    seconds["finetuned"] = time.perf_counter() - start

  meta = {**(meta or {}), "languages": list(data), "methods": list(methods),
          "ranking_method": methods[0], "fractions": list(fractions), "num_samples": num_samples,
          "shift_measure": shift_measure, "eps": eps, "seed": seed, "devices": mesh.size,
          "monolingual": {f"seed {s}": sorted(models) for s, models in mono.items()},
          "children": sorted(children or {}), "seconds": seconds}
  markdown = report_lib.write(out_dir, overlaps=overlaps, pruning=pruned, shifts=shifts,
                              seeds=seeds, finetune=finetune, focus=focus, meta=meta)
  return Analysis(importances, overlaps, pruned, shifts, seeds, finetune, meta, markdown)
