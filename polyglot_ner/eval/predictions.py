"""Prediction files in conlleval's input format: `token gold pred` lines, a blank line per sentence.

`write_predictions` writes them (through `polyglot_ner.data.conll.write_conll`), so the original
`conlleval.pl` and `read_predictions` + `conlleval.score` both score them. A run keeps its test
predictions at `predictions_path(workdir, "test", lang)`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from polyglot_ner.data import conll
from polyglot_ner.study import plan as run_plan

PREDICTIONS_DIR = "predictions"


def predictions_path(workdir: Any, split: str, lang: str) -> Any:
  """Where a run (`workdir`: a `pathlib` or `etils.epath` path) keeps its predictions of one
  language's split: `<workdir>/predictions/<split>/<corpus_lang>.txt`."""
  return workdir / PREDICTIONS_DIR / split / f"{run_plan.lang_slug(lang)}.txt"


def write_predictions(path: str | os.PathLike, sentences: Sequence[conll.Sentence],
                      predicted: Sequence[Sequence[str]]) -> None:
  """Writes `token gold pred` for every word of every sentence (UTF-8)."""
  conll.write_conll(path, sentences, extra_columns=[predicted])


def read_predictions(path: str | os.PathLike) -> tuple[list[conll.Sentence], list[list[str]]]:
  """Reads a conlleval file back: gold sentences (first and second-to-last columns) and predictions.

  As conlleval does, the last two columns are the gold and the predicted tag, and blank lines end
  sentences. A line with fewer than three columns is a `conll.ConllFormatError` naming the file
  and line; a missing file is `NotFound`.
  """
  sentences, predicted = [], []
  tokens, gold, pred = [], [], []
  for number, line in enumerate(conll.read_text(path).split("\n"), 1):
    fields = line.split()
    if not fields:
      if tokens:
        sentences.append(conll.Sentence(tuple(tokens), tuple(gold)))
        predicted.append(pred)
        tokens, gold, pred = [], [], []
      continue
    if len(fields) < 3:
      raise conll.ConllFormatError(path, number, f"expected 'token gold pred', got {line!r}")
    tokens.append(fields[0])
    gold.append(fields[-2])
    pred.append(fields[-1])
  if tokens:
    sentences.append(conll.Sentence(tuple(tokens), tuple(gold)))
    predicted.append(pred)
  return sentences, predicted
