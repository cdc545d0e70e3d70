"""The analysis report: `analysis.json` (every number), one CSV per table, PNG figures, and
`analysis.md`, which states each finding in one sentence next to its figure.

Figures that need one top-k fraction use the `focus` fraction (default: the middle of the
analysed fractions; a result analysed at other fractions shows its nearest one); the CSVs and the
JSON hold every fraction. NaN (a statistic of an empty set)
is `null` in the JSON and empty in the CSVs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from etils import epath
import numpy as np

from polyglot_ner import errors
from polyglot_ner.analysis import finetune_importance as finetune_lib
from polyglot_ner.analysis import masks as masks_lib
from polyglot_ner.analysis import overlap as overlap_lib
from polyglot_ner.analysis import plots
from polyglot_ner.analysis import pruning as pruning_lib
from polyglot_ner.analysis import shift as shift_lib

JSON_FILE = "analysis.json"
MARKDOWN_FILE = "analysis.md"


def default_focus(fractions: Sequence[float]) -> float:
  """The fraction the report's figures show: the middle one of the sorted `fractions`."""
  fractions = sorted(fractions)
  return fractions[len(fractions) // 2]


def nearest(fractions: Sequence[float], focus: float) -> float:
  """The fraction of `fractions` closest to `focus` on a log scale (the smaller one on a tie)."""
  return min(fractions, key=lambda k: (abs(math.log(k / focus)), k))


def jsonable(value: Any) -> Any:
  """`value` with arrays as lists, NumPy scalars as numbers, NaN and inf as None."""
  if isinstance(value, Mapping):
    return {str(k): jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple, np.ndarray)):
    return [jsonable(v) for v in value]
  if isinstance(value, (np.integer, np.bool_)):
    return value.item()
  if isinstance(value, (float, np.floating)):
    return float(value) if math.isfinite(value) else None
  return value


def _percent(fraction: float) -> str:
  return f"{100 * fraction:.3g}%"


def _num(value: float) -> str:
  return "n/a" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _share(value: float) -> str:
  """A fraction of 1 as a percentage for sentences."""
  return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.3g}%"


_mean = overlap_lib.nanmean  # a mean that skips NaN (the statistics of empty sets)


def _meta_text(value: Any) -> str:
  """A value of `meta` for the markdown: numbers to 3 digits, lists and dicts spelled out."""
  if isinstance(value, Mapping):
    return ", ".join(f"{key} {_meta_text(v)}" for key, v in value.items())
  if isinstance(value, (list, tuple)):
    return ", ".join(_meta_text(v) for v in value) or "none"
  if isinstance(value, float):
    return _num(value)
  return str(value)


def _cell(value: Any) -> Any:
  """A CSV cell: numbers as numbers, NaN as empty."""
  value = jsonable(value)
  return "" if value is None else value


class _Report:
  """Collects the markdown, and writes the CSVs and figures as sections add them."""

  def __init__(self, out_dir: str | os.PathLike):
    self.dir = epath.Path(out_dir)
    self.dir.mkdir(parents=True, exist_ok=True)
    self.lines: list[str] = []
    self.tables: list[str] = []

  def path(self, name: str) -> epath.Path:
    return self.dir / name

  def csv(self, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fields)
    writer.writeheader()
    for row in rows:
      writer.writerow({key: _cell(row.get(key)) for key in fields})
    (self.dir / name).write_text(text.getvalue())
    self.tables.append(name)

  def section(self, title: str) -> None:
    self.lines += [f"## {title}", ""]

  def finding(self, sentence: str, figure: str) -> None:
    self.lines += [sentence, "", f"![{figure}]({figure})", ""]


def _sharing_json(stats: overlap_lib.Sharing) -> dict[str, Any]:
  return {**dataclasses.asdict(stats), "mean_jaccard": stats.mean_jaccard, "union": stats.union,
          "all_of_union": stats.all_of_union, "one_of_union": stats.one_of_union}


def _overlap_json(result: overlap_lib.Overlap) -> dict[str, Any]:
  return {"setting": result.setting, "method": result.method, "languages": result.languages,
          "fractions": result.fractions,
          "observed": [_sharing_json(s) for s in result.observed],
          "random_rankings": [_sharing_json(s) for s in result.random],
          "expected": [_sharing_json(result.expected(k)) for k in result.fractions],
          "tensors": result.tensors}


def _overlap_section(report: _Report, result: overlap_lib.Overlap, focus: float) -> None:
  focus = nearest(result.fractions, focus)
  name = f"{result.setting}_{result.method}"
  languages, fractions = result.languages, result.fractions
  kinds = {"observed": result.observed, "random": result.random,
           "expected": [result.expected(k) for k in fractions]}
  report.section(f"Overlap of important parameters ({result.setting}, {result.method})")
  report.csv(f"jaccard_{name}.csv", [
      {"fraction": k, "language_a": a, "language_b": b,
       **{kind: stats[i].jaccard[ia, ib] for kind, stats in kinds.items()}}
      for i, k in enumerate(fractions) for ia, a in enumerate(languages)
      for ib, b in enumerate(languages)])
  report.csv(f"sharing_{name}.csv", [
      {"fraction": k, "language": lang,
       **{f"shared_by_all_{kind}": stats[i].shared_by_all[j] for kind, stats in kinds.items()},
       **{f"only_one_{kind}": stats[i].only_one[j] for kind, stats in kinds.items()}}
      for i, k in enumerate(fractions) for j, lang in enumerate(languages)])
  report.csv(f"sharing_global_{name}.csv", [
      {"fraction": k, "kind": kind, "mean_jaccard": stats[i].mean_jaccard,
       "union": stats[i].union, "all_of_union": stats[i].all_of_union,
       "one_of_union": stats[i].one_of_union,
       **{f"exactly_{j}": share for j, share in enumerate(stats[i].languages_per_param)}}
      for i, k in enumerate(fractions) for kind, stats in kinds.items()])
  report.csv(f"tensors_{name}.csv", result.tensors)
  if len(languages) < 2:
    report.lines += [f"Only {languages[0]} was analysed: there is no overlap to measure.", ""]
    return

  i = fractions.index(focus)
  seen, rand, chance = (kinds[kind][i] for kind in ("observed", "random", "expected"))
  figure = f"jaccard_{name}.png"
  plots.heatmap(report.path(figure), seen.jaccard, languages, languages, label="Jaccard",
                title=f"Jaccard of top-{_percent(focus)} sets ({result.setting}, {result.method}); "
                      f"chance {_num(chance.mean_jaccard)}")
  ratio = overlap_lib.ratio(seen.mean_jaccard, chance.mean_jaccard)
  report.finding(
      f"At the top {_percent(focus)} by {result.method} importance, the languages' important "
      f"sets ({result.setting}) have a mean pairwise Jaccard of {_num(seen.mean_jaccard)}, "
      f"{_num(ratio)} times "
      f"the {_num(chance.mean_jaccard)} of independent random sets (random rankings measured "
      f"{_num(rand.mean_jaccard)}).", figure)

  figure = f"sharing_{name}.png"
  styles = {"observed": {}, "random": {"linestyle": ":"}, "expected": {"linestyle": "--"}}
  labels = {"observed": result.setting, "random": "random rankings",
            "expected": "chance (closed form)"}
  plots.curves(report.path(figure), [
      plots.Panel("Mean pairwise Jaccard", "top-k fraction", "Jaccard",
                  [plots.Series(labels[kind], fractions, [s.mean_jaccard for s in stats],
                                styles[kind]) for kind, stats in kinds.items()], log_x=True),
      plots.Panel("Of the parameters important to some language", "top-k fraction",
                  "fraction",
                  [plots.Series(f"{part} ({labels[kind]})", fractions,
                                [getattr(s, f"{part}_of_union") for s in kinds[kind]],
                                {**styles[kind], "color": "C0" if part == "all" else "C1"})
                   for part in ("all", "one") for kind in ("observed", "expected")],
                  log_x=True)])
  report.finding(
      f"Of the parameters in some language's top {_percent(focus)}, {_share(seen.all_of_union)} "
      f"are important to all {len(languages)} languages and {_share(seen.one_of_union)} to "
      f"exactly one (random sets: {_share(chance.all_of_union)} and "
      f"{_share(chance.one_of_union)}).", figure)

  figure = f"tensors_{name}.png"
  rows = [row for row in result.tensors if row["fraction"] == focus]
  plots.bars(report.path(figure), [row["tensor"] for row in rows],
             {"observed": [row["mean_jaccard"] for row in rows],
              "chance given each tensor's densities": [row["mean_jaccard_chance"] for row in rows]},
             title=f"Mean pairwise Jaccard per tensor, top {_percent(focus)} "
                   f"({result.setting}, {result.method})",
             xlabel="Jaccard", reference=chance.mean_jaccard, reference_label="chance (global)")
  ranked = sorted((row for row in rows if math.isfinite(row["mean_jaccard"])),
                  key=lambda row: row["mean_jaccard"])
  if ranked:
    top, bottom = ranked[-1], ranked[0]
    report.finding(
        f"Per tensor, the languages overlap most in `{top['tensor']}` (Jaccard "
        f"{_num(top['mean_jaccard'])}, chance given its densities "
        f"{_num(top['mean_jaccard_chance'])}) and least in `{bottom['tensor']}` "
        f"({_num(bottom['mean_jaccard'])}).", figure)


def _settings_section(report: _Report, results: Sequence[overlap_lib.Overlap],
                      focus: float) -> None:
  """Settings side by side (e.g. polyglot vs mono) for each method analysed in several."""
  for method in dict.fromkeys(r.method for r in results):
    same = [r for r in results if r.method == method and len(r.languages) > 1]
    if len(same) < 2:
      continue
    figure = f"settings_{method}.png"
    series = [plots.Series(r.setting, r.fractions, [s.mean_jaccard for s in r.observed])
              for r in same]
    series.append(plots.Series("chance", same[0].fractions,
                               [k / (2 - k) for k in same[0].fractions], {"linestyle": "--"}))
    plots.curves(report.path(figure), [plots.Panel(
        f"Mean pairwise Jaccard ({method})", "top-k fraction", "Jaccard", series, log_x=True)])
    focus = nearest(same[0].fractions, focus)
    values = ", ".join(f"{r.setting} {_num(r.at(nearest(r.fractions, focus)).mean_jaccard)}"
                       for r in same)
    report.section(f"Settings compared ({method})")
    report.finding(f"At the top {_percent(focus)}, the mean pairwise Jaccard of the languages' "
                   f"important sets is: {values} (chance {_num(focus / (2 - focus))}).", figure)


def _seeds_json(result: overlap_lib.Seeds, polyglot: overlap_lib.Overlap | None
                ) -> dict[str, Any]:
  return {**dataclasses.asdict(result),
          "mean_jaccard": {kind: result.mean(kind) for kind in overlap_lib.PAIRS},
          "pairs": overlap_lib.PAIRS, "chance": [k / (2 - k) for k in result.fractions],
          "baseline": overlap_lib.BASELINE,
          "polyglot_mean_jaccard": None if polyglot is None else [
              polyglot.at(k).mean_jaccard for k in result.fractions]}


def _seeds_section(report: _Report, result: overlap_lib.Seeds,
                   polyglot: overlap_lib.Overlap | None, focus: float) -> None:
  """The monolingual models' overlap by what two models share, beside the polyglot's."""
  focus = nearest(result.fractions, focus)
  fractions, method = result.fractions, result.method
  report.section(f"Monolingual baseline across seeds ({method})")
  report.csv(f"seeds_{method}.csv", [
      {"fraction": k, "language_a": result.runs[a][0], "seed_a": result.runs[a][1],
       "language_b": result.runs[b][0], "seed_b": result.runs[b][1], "shares": kind,
       "jaccard": result.jaccard[i, a, b], "chance": k / (2 - k)}
      for i, k in enumerate(fractions) for kind in overlap_lib.PAIRS
      for a, b in result.pairs(kind)])
  means = {kind: result.mean(kind) for kind in overlap_lib.PAIRS}
  figure = f"seeds_{method}.png"
  series = [plots.Series(f"mono: {label}", fractions, means[kind])
            for kind, label in overlap_lib.PAIRS.items()]
  if polyglot is not None:
    series.append(plots.Series("polyglot (between languages)", fractions,
                               [polyglot.at(k).mean_jaccard for k in fractions],
                               {"color": "black"}))
  series.append(plots.Series("chance", fractions, [k / (2 - k) for k in fractions],
                             {"linestyle": "--", "color": "grey"}))
  plots.curves(report.path(figure), [plots.Panel(
      f"Mean Jaccard of top-k sets by what two models share ({method})", "top-k fraction",
      "Jaccard", series, log_x=True)])
  i = fractions.index(focus)
  same_language, same_seed, neither = (means[kind][i] for kind in overlap_lib.PAIRS)
  compared = ""
  if polyglot is not None:
    seen = polyglot.at(focus).mean_jaccard
    compared = (f"; the polyglot model's languages ({_num(seen)}) are to be compared with the "
                "last, which shares neither data nor initialisation: "
                f"{_num(overlap_lib.ratio(seen, neither))} times it")
  report.finding(
      f"At the top {_percent(focus)}, separately trained monolingual models overlap with a mean "
      f"Jaccard of {_num(same_language)} across seeds of one language, {_num(same_seed)} across "
      f"languages of one seed (one initialisation) and {_num(neither)} across languages and "
      f"seeds (chance {_num(focus / (2 - focus))}){compared}.", figure)


def _finetune_json(result: finetune_lib.FinetuneImportance) -> dict[str, Any]:
  return {**dataclasses.asdict(result), "references": [*result.languages, finetune_lib.SHARED],
          "mean": {"own": result.own(), "control": result.control(), "others": result.others(),
                   "shared": result.shared(), "shared_mass": result.shared_mass.mean(1),
                   "chance": result.fractions, "shared_density": result.shared_density},
          "holds": result.holds()}


def _finetune_section(report: _Report, result: finetune_lib.FinetuneImportance,
                      focus: float) -> None:
  """The children's own top-k sets against the parent's, and whether the reading holds."""
  focus = nearest(result.fractions, focus)
  fractions, method = result.fractions, result.method
  references = [*result.languages, finetune_lib.SHARED]
  report.section(f"Fine-tuned children's own importance ({method})")
  report.csv("finetune_importance.csv", [
      {"child": child, "fraction": k, "parent_set": ref, "coverage": result.coverage[i, c, r],
       "coverage_chance": k, "jaccard": result.jaccard[i, c, r],
       "jaccard_chance": result.jaccard_chance[i, r],
       "importance_mass": result.shared_mass[i, c] if ref == finetune_lib.SHARED else None,
       "importance_mass_chance": (result.shared_density[i] if ref == finetune_lib.SHARED
                                  else None)}
      for i, k in enumerate(fractions) for c, child in enumerate(result.children)
      for r, ref in enumerate(references)])
  own, control, shared = result.own(), result.control(), result.shared()
  mass = result.shared_mass.mean(1)
  figure = "finetune_importance.png"
  plots.curves(report.path(figure), [
      plots.Panel("Of the parent's top-k set, the fraction in the child's own", "top-k fraction",
                  "fraction of the parent's set",
                  [plots.Series("shared by all languages", fractions, shared),
                   plots.Series("the child's language", fractions, own),
                   plots.Series("a language the child was not tuned on (control)", fractions,
                                control),
                   plots.Series("the other languages", fractions,
                                result.others(), {"linestyle": ":"}),
                   plots.Series("chance", fractions, fractions,
                                {"linestyle": "--", "color": "black"})], log_x=True),
      plots.Panel("The child's importance on the parent's shared set", "top-k fraction",
                  "fraction", [plots.Series("of the child's total importance", fractions, mass),
                               plots.Series("of the parameters (chance)", fractions,
                                            result.shared_density,
                                            {"linestyle": "--", "color": "black"})],
                  log_x=True)])
  i = fractions.index(focus)
  if not result.holds()[i]:
    verdict = ("does not hold (the children hold no more of the shared set than chance, or no "
               "more than a control child holds of a language it was not tuned on)")
  elif math.isnan(control[i]):
    verdict = "holds against chance (one child: no control)"
  else:
    verdict = ("holds (more of the shared set than chance and than a control child holds of a "
               "language it was not tuned on)")
  report.finding(
      f"A fine-tuned child's own top {_percent(focus)} by {method} holds on average "
      f"{_share(shared[i])} of the parent's top-{_percent(focus)} set shared by all languages "
      f"(chance {_percent(focus)}) and {_share(own[i])} of the parent's set for its language, "
      f"where a child fine-tuned on another language holds {_share(control[i])}, and "
      f"{_share(mass[i])} of its total {method} importance lies on the shared set, which is "
      f"{_share(result.shared_density[i])} of the parameters: the reading that fine-tuning "
      f"utilises a large number of the shared parameters {verdict}.", figure)


def _pruning_json(result: pruning_lib.Pruning) -> dict[str, Any]:
  return {**dataclasses.asdict(result),
          "damage": {str(k): {control: result.damage(k, control)
                              for control in dict.fromkeys(r["control"] for r in result.rows)}
                     for k in result.fractions}}


def _pruning_section(report: _Report, result: pruning_lib.Pruning, focus: float) -> None:
  focus = nearest(result.fractions, focus)
  languages, fractions = result.languages, result.fractions
  controls = list(dict.fromkeys(row["control"] for row in result.rows))
  report.section("Pruning")
  report.csv("pruning.csv", [
      {"control": row["control"], "source": row["source"] or "", "fraction": row["fraction"],
       "language": lang, "f1": f1, "baseline": result.baseline[lang],
       "drop": result.baseline[lang] - f1}
      for row in result.rows for lang, f1 in row["scores"].items()])

  matrices, labels = [result.damage(focus)], list(result.sources)
  if "random" in controls:
    matrices.append(result.damage(focus, "random"))
    labels.append("random")
  if "least" in controls:
    matrices.append(result.damage(focus, "least"))
    labels += [f"least {source}" for source in result.sources]
  figure = "pruning_damage.png"
  plots.heatmap(report.path(figure), np.concatenate(matrices), labels, languages,
                label="F1 drop", cmap="RdBu_r", center=True,
                title=f"F1 drop after zeroing a top-{_percent(focus)} set (row) on each language")
  important = result.damage(focus)
  own = [important[i, languages.index(s)] for i, s in enumerate(result.sources) if s in languages]
  others = [important[i, j] for i, s in enumerate(result.sources)
            for j, lang in enumerate(languages) if lang != s]
  controls_text = [f"{name} {_percent(focus)}: {_num(_mean(result.damage(focus, control)))}"
                   for control, name in (("random", "a random"), ("least", "its least important"))
                   if control in controls]
  report.finding(
      f"Zeroing a language's top {_percent(focus)} parameters drops its own F1 by "
      f"{_num(_mean(own))} on average and the other languages' by {_num(_mean(others))}"
      + (f" (mean drop after zeroing {'; '.join(controls_text)})" if controls_text else "")
      + ".", figure)

  figure = "pruning_curves.png"
  panels = []
  for lang in languages:
    series = []
    for j, source in enumerate(result.sources):
      for control, style in (("important", {}), ("least", {"linestyle": ":"})):
        if control in controls:
          series.append(plots.Series(
              f"{source}" if control == "important" else f"least {source}", fractions,
              [result.scores(control, source, k)[lang] for k in fractions],
              {**style, "color": f"C{j % 10}"}))
    if "random" in controls:
      series.append(plots.Series("random", fractions,
                                 [result.scores("random", None, k)[lang] for k in fractions],
                                 {"linestyle": "--", "color": "black"}))
    series.append(plots.Series("unpruned", fractions, [result.baseline[lang]] * len(fractions),
                               {"linestyle": "-", "color": "grey", "marker": ""}))
    panels.append(plots.Panel(f"F1 on {lang}", "pruned fraction", "F1", series, log_x=True))
  plots.curves(report.path(figure), panels, columns=3)
  largest = fractions[-1]
  own_f1 = [result.scores("important", s, largest)[s] for s in result.sources if s in languages]
  report.finding(
      f"With its top {_percent(largest)} zeroed, a language keeps a mean F1 of "
      f"{_num(_mean(own_f1))} (unpruned {_num(_mean([result.baseline[s] for s in languages]))})"
      + (f", against {_num(_mean([result.scores('random', None, largest)[s] for s in languages]))}"
         f" after zeroing a random {_percent(largest)}" if "random" in controls else "") + ".",
      figure)


def _shift_section(report: _Report, results: Sequence[shift_lib.Shift], focus: float) -> None:
  report.section("Fine-tuning shift")
  report.csv("shift.csv", [
      {"child": r.child, "fraction": k, "language": lang, "in_important": r.in_important[i, j],
       "in_important_chance": k, "percentile": r.percentile[i, j], "percentile_chance": 0.5}
      for r in results for i, k in enumerate(r.fractions) for j, lang in enumerate(r.languages)])
  report.csv("shift_shared.csv", [
      {"child": r.child, "fraction": k, "shared_moved": r.shared_moved[i],
       "shared_moved_chance": k, "moved_shared": r.moved_shared[i],
       "moved_shared_chance": r.shared_density[i]}
      for r in results for i, k in enumerate(r.fractions)])
  report.csv("shift_tensors.csv", [{"child": r.child, **row} for r in results for row in r.tensors])

  languages = results[0].languages
  focus = nearest(results[0].fractions, focus)
  i = results[0].fractions.index(focus)
  figure = "shift_overlap.png"
  plots.heatmap(report.path(figure), np.stack([r.in_important[i] for r in results]),
                [f"moved by {r.child}" for r in results], [f"important to {l}" for l in languages],
                label="fraction of the moved set",
                title=f"Top-{_percent(focus)} most-moved parameters in each language's top "
                      f"{_percent(focus)} (chance {_percent(focus)})")
  own = [r.in_important[i, languages.index(r.child)] for r in results if r.child in languages]
  own_percentile = [r.percentile[i, languages.index(r.child)] for r in results
                    if r.child in languages]
  others = [r.in_important[i, j] for r in results for j, lang in enumerate(languages)
            if lang != r.child]
  report.finding(
      f"Of the {_percent(focus)} of parameters each fine-tuned child moved most "
      f"({results[0].measure} change), "
      + (f"{_share(_mean(own))} are in its own language's top {_percent(focus)} (mean importance "
         f"percentile {_num(_mean(own_percentile))}, chance 0.5) and " if own else "")
      + f"{_share(_mean(others))} in the other languages' (chance {_percent(focus)}).", figure)

  figure = "shift_shared.png"
  plots.curves(report.path(figure), [plots.Panel(
      "Shared parameters (important to every language) that fine-tuning moved", "top-k fraction",
      "fraction of the shared set",
      [plots.Series(r.child, r.fractions, r.shared_moved) for r in results]
      + [plots.Series("chance", results[0].fractions, results[0].fractions,
                      {"linestyle": "--", "color": "black"})], log_x=True)])
  report.finding(
      f"Of the parameters in every language's top {_percent(focus)}, fine-tuning put "
      f"{_share(_mean([r.shared_moved[i] for r in results]))} among its {_percent(focus)} "
      f"most-moved (chance {_percent(focus)}); they make up "
      f"{_share(_mean([r.moved_shared[i] for r in results]))} of the moved set (chance "
      f"{_share(_mean([r.shared_density[i] for r in results]))}).", figure)

  figure = "shift_tensors.png"
  tensors = [row["tensor"] for row in results[0].tensors if row["fraction"] == focus]
  moved = {r.child: [row["moved"] for row in r.tensors if row["fraction"] == focus]
           for r in results}
  plots.bars(report.path(figure), tensors, moved, reference=focus,
             title=f"Fraction of each tensor among the top-{_percent(focus)} most-moved",
             xlabel="fraction of the tensor")
  mean_moved = np.nanmean(np.array(list(moved.values()), float), axis=0)
  top, bottom = int(np.argmax(mean_moved)), int(np.argmin(mean_moved))
  report.finding(
      f"Fine-tuning moved `{tensors[top]}` most ({_share(mean_moved[top])} of it among the top "
      f"{_percent(focus)} on average over children) and `{tensors[bottom]}` least "
      f"({_share(mean_moved[bottom])}).", figure)


def write(out_dir: str | os.PathLike, *, overlaps: Sequence[overlap_lib.Overlap] = (),
          pruning: pruning_lib.Pruning | None = None, shifts: Sequence[shift_lib.Shift] = (),
          seeds: overlap_lib.Seeds | None = None,
          finetune: finetune_lib.FinetuneImportance | None = None,
          focus: float | None = None, meta: Mapping[str, Any] | None = None,
          title: str = "Parameter-sharing analysis") -> epath.Path:
  """Writes the report of the given results under `out_dir`; returns the markdown's path.

  `seeds` is set beside the polyglot setting's overlap of its method (`overlap.POLYGLOT`), when
  `overlaps` hold it. `meta` (JSON-able: model, checkpoints, data split, timings...) heads the
  JSON and the markdown.
  """
  results = [*overlaps, *shifts, *(r for r in (pruning, seeds, finetune) if r is not None)]
  fractions = sorted({k for r in results for k in r.fractions})
  if not fractions:
    raise errors.UserError("nothing to report: no overlap, pruning or shift results")
  focus = default_focus(fractions) if focus is None else masks_lib.check_fractions([focus])[0]
  report = _Report(out_dir)
  meta = dict(meta or {})
  report.lines += [f"# {title}", ""]
  report.lines += [f"* {key}: {_meta_text(value)}" for key, value in meta.items()]
  report.lines += [f"* figures show the top {_percent(focus)}; the CSVs and {JSON_FILE} hold "
                   f"every fraction ({', '.join(_percent(k) for k in fractions)})", ""]
  for result in overlaps:
    _overlap_section(report, result, focus)
  _settings_section(report, overlaps, focus)
  polyglot = None if seeds is None else next(
      (r for r in overlaps if (r.setting, r.method) == (overlap_lib.POLYGLOT, seeds.method)), None)
  if seeds is not None:
    _seeds_section(report, seeds, polyglot, focus)
  elif any(r.setting == overlap_lib.MONO for r in overlaps):
    report.lines += ["The monolingual models are of one seed, so their overlap includes what "
                     "starting from the same parameters gives; monolingual runs of other seeds "
                     "separate it (README, \"The parameter-sharing analysis\").", ""]
  if pruning is not None:
    _pruning_section(report, pruning, focus)
  if shifts:
    _shift_section(report, shifts, focus)
  if finetune is not None:
    _finetune_section(report, finetune, focus)
  report.lines += ["## Tables", "", *[f"* [{name}]({name})" for name in report.tables], ""]
  numbers = {"meta": meta, "focus": focus, "overlap": [_overlap_json(r) for r in overlaps],
             "mono_seeds": None if seeds is None else _seeds_json(seeds, polyglot),
             "pruning": None if pruning is None else _pruning_json(pruning),
             "shift": [dataclasses.asdict(r) for r in shifts],
             "finetune_importance": None if finetune is None else _finetune_json(finetune)}
  (report.dir / JSON_FILE).write_text(json.dumps(jsonable(numbers), indent=1) + "\n")
  markdown = report.dir / MARKDOWN_FILE
  markdown.write_text("\n".join(report.lines))
  return markdown
