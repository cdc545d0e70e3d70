"""Scores as plain-text tables for the console (`polyglot-ner train` and `evaluate` print them)
and conlleval's own report per language (`evaluate`)."""

from __future__ import annotations

from typing import Any, Mapping

from polyglot_ner.eval import conlleval


def format_scores(scores: Mapping[str, Any]) -> str:
  """Per-language precision, recall and F1 (percent, conlleval's digits) and their macro average,
  one row each, from the scores of `conlleval.score_languages`."""
  rows = [f"{'language':<20}{'P':>8}{'R':>8}{'F1':>8}"]
  for name, s in scores["per_language"].items():
    p = conlleval.percentages(s)
    rows.append(f"{name:<20}{p['precision']:8.2f}{p['recall']:8.2f}{p['f1']:8.2f}")
  rows.append(f"{'macro':<20}{100 * scores['macro_precision']:8.2f}"
              f"{100 * scores['macro_recall']:8.2f}{100 * scores['macro_f1']:8.2f}")
  return "\n".join(rows)


def format_reports(scores: Mapping[str, Any]) -> str:
  """conlleval's report (`conlleval.report`, as `polyglot-ner score` prints it) of each language
  of `conlleval.score_languages` scores, after a `<language>:` line."""
  return "\n".join(f"{name}:\n{conlleval.report(s)}" for name, s in scores["per_language"].items())
