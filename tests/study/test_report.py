"""The results table and plot rendered from a hand-made results dict (no training)."""

import matplotlib.image

from polyglot_ner.study import report as experiment_report


def cell(f1s, mean, std):
  """A cell whose per-seed F1s are `f1s`, with mean and std worked out by hand."""
  scores = {"precision": mean, "recall": mean}
  return {"seeds": {str(i): {**scores, "f1": f} for i, f in enumerate(f1s)},
          "mean": {**scores, "f1": mean}, "std": {"precision": std, "recall": std, "f1": std}}


RESULTS = {
    "model_kind": "byte_crf",
    "langs": ["conll2002/es", "conll2002/nl"],
    "seeds": [0, 1],
    "stages": ["mono", "polyglot", "finetune"],
    "cells": {
        "mono": {"conll2002/es": cell([0.79, 0.81], 0.80, 0.0141421),
                 "conll2002/nl": cell([0.70, 0.70], 0.70, 0.0),
                 "average": cell([0.745, 0.755], 0.75, 0.0070711)},
        "polyglot": {"conll2002/es": cell([0.78, 0.78], 0.78, 0.0),
                     "conll2002/nl": cell([0.69, 0.71], 0.70, 0.0141421),
                     "average": cell([0.735, 0.745], 0.74, 0.0070711)},
        "finetune": {"conll2002/es": cell([0.85, 0.85], 0.85, 0.0),
                     "conll2002/nl": cell([0.69, 0.71], 0.70, 0.0141421),
                     "average": cell([0.77, 0.78], 0.775, 0.0070711)},
    },
    "significance": {
        "num_samples": 1000, "confidence": 0.95,
        "findings": [
            {"systems": ["finetune", "mono"], "per_language": {
                "conll2002/es": {"delta": 0.05, "p_value": 0.0, "ci_low": 0.02, "ci_high": 0.08,
                                 "num_samples": 1000},
                "conll2002/nl": {"delta": 0.0, "p_value": 0.52, "ci_low": -0.03,
                                 "ci_high": 0.03, "num_samples": 1000}}},
            {"systems": ["mono", "polyglot"], "per_language": {
                "conll2002/es": {"delta": 0.02, "p_value": 0.004, "ci_low": 0.005,
                                 "ci_high": 0.035, "num_samples": 1000},
                "conll2002/nl": {"delta": 0.0, "p_value": 0.49, "ci_low": -0.02,
                                 "ci_high": 0.02, "num_samples": 1000}}}]},
    "transfer": {
        "conll2002/es": {"conll2002/es": cell([0.79, 0.81], 0.80, 0.0141421),
                         "conll2002/nl": cell([0.40, 0.40], 0.40, 0.0)},
        "conll2002/nl": {"conll2002/es": cell([0.30, 0.32], 0.31, 0.0141421),
                         "conll2002/nl": cell([0.70, 0.70], 0.70, 0.0)}},
}


def test_markdown_table_rows_cells_and_significance():
  lines = experiment_report.markdown(RESULTS).splitlines()
  table = [line for line in lines if line.startswith("|")]
  assert table[0] == "| model | conll2002/es | conll2002/nl | average |"
  assert table[2] == "| mono | 80.00 ± 1.41 | **70.00 ± 0.00** | 75.00 ± 0.71 |"
  assert table[3] == "| polyglot | 78.00 ± 0.00 | **70.00 ± 1.41** | 74.00 ± 0.71 |"
  # ‡ for p < 0.01 on es; no marker on nl (p = 0.52); the best mean of each column in bold.
  assert table[4] == ("| polyglot+FT | **85.00 ± 0.00**‡ | **70.00 ± 1.41** "
                      "| **77.50 ± 0.71** |")
  assert table[5] == ("| polyglot+FT − mono | +5.00 [+2.00, +8.00] p<0.001 "
                      "| +0.00 [-3.00, +3.00] p=0.52 | +2.50 |")
  # The second finding's row; its average is the plain difference of the row averages.
  assert table[6] == ("| mono − polyglot | +2.00 [+0.50, +3.50] p=0.004 "
                      "| +0.00 [-2.00, +2.00] p=0.49 | +1.00 |")
  text = "\n".join(lines)
  assert "1000 samples, 2 seed(s)" in text and "mean ± std over 2 seeds (0, 1)" in text
  assert "polyglot+FT better than mono; mono better than polyglot" in text
  transfer = table[table.index("| trained on \\ tested on | conll2002/es | conll2002/nl |"):]
  assert transfer[2] == "| conll2002/es | 80.00 ± 1.41 | 40.00 ± 0.00 |"
  assert transfer[3] == "| conll2002/nl | 31.00 ± 1.41 | 70.00 ± 0.00 |"


def test_markdown_with_one_seed_and_no_fine_tuning():
  cells = {stage: {column: {**c, "std": {k: None for k in c["std"]}}
                   for column, c in RESULTS["cells"][stage].items()}
           for stage in ("mono", "polyglot")}
  results = {**RESULTS, "seeds": [0], "stages": ["mono", "polyglot"], "cells": cells}
  del results["significance"], results["transfer"]
  text = experiment_report.markdown(results)
  assert "| mono | **80.00** | **70.00** | **75.00** |" in text
  assert "one seed (0)" in text
  assert "±" not in text and "bootstrap" not in text
  assert "polyglot+FT" not in text.split("\n", 1)[1]  # only in the title


def test_plot_writes_a_png(tmp_path):
  path = tmp_path / "results.png"
  experiment_report.plot(RESULTS, path)
  image = matplotlib.image.imread(path)
  assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 600


def test_budget_sentences():
  converged = {"name": "converged", "schedule": "constant", "max_epochs": 50,
               "finetune_max_epochs": 50, "patience": 10, "min_epochs": 5}
  assert experiment_report.budget_text(converged) == (
      "Budget (converged): every run trained until dev macro F1 had not improved for 10 "
      "evaluations after at least 5 epochs, at most 50 epochs; constant learning rate.")
  epochs = {**converged, "name": "epochs", "max_epochs": 4, "finetune_max_epochs": 2,
            "patience": 0, "schedule": "cosine"}
  assert experiment_report.budget_text(epochs) == (
      "Budget (epochs): every run trained 4 epochs, fine-tuning at most 2; cosine learning rate.")
  steps = {"name": "steps", "schedule": "cosine", "steps": 300}
  assert experiment_report.budget_text(steps) == (
      "Budget: every run made 300 steps (cosine learning rate).")
  assert "Budget (converged)" in experiment_report.markdown({**RESULTS, "budget": converged})


def test_a_cell_with_span_counts_prints_conllevals_digits():
  percent = experiment_report._percent  # pylint: disable=protected-access
  # 1 correct of 63 found, 1 gold: conlleval prints F1 3.13; 100 x the fraction 0.03125 prints 3.12.
  tie = {"precision": 1 / 63, "recall": 1.0, "f1": 0.03125, "found": 63, "correct": 1, "gold": 1}
  assert percent({"seeds": {"0": tie}, "mean": {"f1": 0.03125}, "std": {"f1": None}}) == "3.13"
  two = {"seeds": {"0": tie, "1": {**tie, "correct": 0}}, "mean": {}, "std": {}}
  assert percent(two) == "1.56 ± 2.21"  # the mean and std of conlleval's 3.125... and 0
  assert percent(RESULTS["cells"]["mono"]["average"]) == "75.00 ± 0.71"  # no counts: 100 x mean
