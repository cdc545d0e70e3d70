"""The experiment's results as a paper-style Markdown table and a grouped bar plot.

Both read the dict that `polyglot_ner.study.experiment.collect` builds (W/results.json), so a table can
be re-rendered from a results file without training anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
import numpy as np

from polyglot_ner.eval import bootstrap
from polyglot_ner.eval import conlleval

ROW_NAMES = {"mono": "mono", "polyglot": "polyglot", "finetune": "polyglot+FT"}
AVERAGE = "average"
SIGNIFICANCE_LEVELS = ((0.01, "‡"), (0.05, "†"))  # not * : it would clash with bold


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
  """Mean and sample std (ddof=1; None for a single value)."""
  values = np.asarray(values, np.float64)
  return float(values.mean()), (float(values.std(ddof=1)) if len(values) > 1 else None)


def _percent(cell: Mapping[str, Any], key: str = "f1") -> str:
  """A cell's mean (± std over seeds) in percent: from each seed's span counts where the cell has
  them, so that one run prints conlleval's digits (100 x a fraction can round a tie the other
  way: 3.12 for conlleval's 3.13)."""
  seeds = cell["seeds"].values()
  if all("found" in scores for scores in seeds):
    mean, std = mean_std([conlleval.percentages(scores)[key] for scores in seeds])
  else:  # an average over languages: no conlleval number
    mean, std = (None if value is None else 100 * value
                 for value in (cell["mean"][key], cell["std"][key]))
  return f"{mean:.2f}" + (f" ± {std:.2f}" if std is not None else "")


def _marker(p_value: float) -> str:
  return next((marker for level, marker in SIGNIFICANCE_LEVELS if p_value < level), "")


def _seeds_text(seeds: list[int]) -> str:
  if len(seeds) == 1:
    return f"one seed ({seeds[0]})"
  return f"mean ± std over {len(seeds)} seeds ({', '.join(map(str, seeds))})"


def budget_text(budget: Mapping[str, Any]) -> str:
  """One sentence on how long every run trained (results.json's `budget`)."""
  if budget["name"] == "steps":
    return f"Budget: every run made {budget['steps']} steps ({budget['schedule']} learning rate)."
  if budget["name"] == "converged":
    how = (f"until dev macro F1 had not improved for {budget['patience']} evaluations after at "
           f"least {budget['min_epochs']} epochs, at most {budget['max_epochs']} epochs")
  else:
    how = f"{budget['max_epochs']} epochs" + (
        f" (early stopping with patience {budget['patience']})" if budget["patience"] else "")
  ft = budget["finetune_max_epochs"]
  return (f"Budget ({budget['name']}): every run trained {how}"
          + (f", fine-tuning at most {ft}" if ft != budget["max_epochs"] else "")
          + f"; {budget['schedule']} learning rate.")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join([":--"] + ["--:"] * (len(header) - 1)) + "|"]
  return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _finetune_markers(results: Mapping[str, Any]) -> dict[str, Any]:
  """The bootstrap of polyglot+FT against mono per language, whose p marks polyglot+FT's cells."""
  return next((finding["per_language"] for finding in _findings(results)
               if finding["systems"] == ["finetune", "mono"]), {})


def _findings(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
  return results.get("significance", {}).get("findings", [])


def _difference_row(cells: Mapping[str, Any], columns: list[str], finding: Mapping[str, Any]
                    ) -> list[str]:
  """`A − B`: the bootstrap's difference, interval and p per language, the plain difference of
  the averages."""
  better, worse = finding["systems"]
  row = [f"{ROW_NAMES[better]} − {ROW_NAMES[worse]}"]
  for column in columns:
    s = finding["per_language"].get(column)
    if s:
      row.append(f"{100 * s['delta']:+.2f} [{100 * s['ci_low']:+.2f}, {100 * s['ci_high']:+.2f}]"
                 f" {bootstrap.format_p_value(s['p_value'], s['num_samples'])}")
    else:
      delta = cells[better][column]["mean"]["f1"] - cells[worse][column]["mean"]["f1"]
      row.append(f"{100 * delta:+.2f}")
  return row


def markdown(results: Mapping[str, Any]) -> str:
  """results.md: rows mono / polyglot / polyglot+FT, a column per language and the average, then
  a row `A − B` per tested finding (A better than B)."""
  langs, cells = results["langs"], results["cells"]
  columns = [*langs, AVERAGE]
  findings, markers = _findings(results), _finetune_markers(results)
  best = {column: max(cells[stage][column]["mean"]["f1"] for stage in cells) for column in columns}
  rows = []
  for stage, by_column in cells.items():
    row = [ROW_NAMES[stage]]
    for column in columns:
      text = _percent(by_column[column])
      if by_column[column]["mean"]["f1"] == best[column] and len(cells) > 1:
        text = f"**{text}**"
      if stage == "finetune" and column in markers:
        text += _marker(markers[column]["p_value"])
      row.append(text)
    rows.append(row)
  rows += [_difference_row(cells, columns, finding) for finding in findings]

  seeds = results["seeds"]
  lines = [f"# {results['model_kind']}: {', '.join(ROW_NAMES[stage] for stage in cells)}", "",
           f"Test span F1 (%, conlleval) of each run's best dev checkpoint; {_seeds_text(seeds)}. "
           "Average: the unweighted mean over languages. Bold: the best row of each column."]
  if "budget" in results:
    lines.append(budget_text(results["budget"]))
  lines.append("")
  lines += table(["model", *columns], rows)
  if findings:
    info = results["significance"]
    confidence = round(100 * info["confidence"])
    tested = "; ".join(f"{ROW_NAMES[a]} better than {ROW_NAMES[b]}"
                       for a, b in (finding["systems"] for finding in findings))
    lines += ["", f"The paper's findings ({tested}), each tested per language by a paired "
              f"bootstrap over test sentences: {info['num_samples']} samples, {len(seeds)} "
              "seed(s) paired by seed. A row `A − B` gives the seed-averaged F1 difference, its "
              f"{confidence}% percentile interval in brackets and the one-sided p = the fraction "
              "of samples in which A is not better than B."
              + (" On polyglot+FT's cells, † p < 0.05 and ‡ p < 0.01 against mono."
                 if markers else "")]
  if "transfer" in results:
    lines += ["", "## Zero-shot transfer of the monolingual models", "",
              "Test span F1 (%) of the mono model of each row's language on each column's test "
              f"set; {_seeds_text(seeds)}.", ""]
    lines += table(["trained on \\ tested on", *langs],
                    [[lang, *(_percent(results["transfer"][lang][test]) for test in langs)]
                     for lang in langs])
  return "\n".join(lines) + "\n"


def plot(results: Mapping[str, Any], path: str | os.PathLike) -> None:
  """results.png: test F1 per language (and the average), one bar per row, std error bars."""
  cells, columns = results["cells"], [*results["langs"], AVERAGE]
  markers = _finetune_markers(results)
  figure = Figure(figsize=(max(6.0, 1.3 * len(columns) + 2), 4.0), layout="constrained")
  axes = figure.add_subplot()
  width = 0.8 / len(cells)
  x = np.arange(len(columns))
  for index, (stage, by_column) in enumerate(cells.items()):
    means = [100 * by_column[c]["mean"]["f1"] for c in columns]
    stds = [100 * (by_column[c]["std"]["f1"] or 0.0) for c in columns]
    offset = x + (index - (len(cells) - 1) / 2) * width
    axes.bar(offset, means, width, yerr=stds if len(results["seeds"]) > 1 else None, capsize=3,
             label=ROW_NAMES[stage])
    if stage == "finetune":
      for position, column, mean, std in zip(offset, columns, means, stds):
        if column in markers and _marker(markers[column]["p_value"]):
          axes.annotate(_marker(markers[column]["p_value"]), (position, mean + std),
                        ha="center", va="bottom")
  axes.set_xticks(x, columns, rotation=20 if len(columns) > 6 else 0)
  axes.set_ylabel("test span F1 (%)")
  axes.set_ylim(0, 105)
  axes.set_title(f"{results['model_kind']}: {_seeds_text(results['seeds'])}")
  figure.legend(loc="outside lower center", ncols=len(cells), frameon=False)
  axes.grid(axis="y", alpha=0.3)
  figure.savefig(path, dpi=150)
