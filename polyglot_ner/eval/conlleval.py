"""conlleval-compatible span scoring: precision, recall and F1 per entity type, per language, overall.

Spans are read with seqeval's default (non-strict) chunker, which follows conlleval's
`startOfChunk`/`endOfChunk` rules: IOB1 gold, a stray `I-` after `O`, and a type switch inside a
span (`B-PER I-LOC`, two spans) score as conlleval scores them; seqeval's strict mode does not.
A span is correct when gold and prediction have the same type, start and end. Scores are
fractions in [0, 1] (conlleval prints percentages); an empty denominator gives 0 as conlleval does.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence

from seqeval.metrics.sequence_labeling import get_entities

Span = tuple[int, str, int, int]  # (sentence, type, first word, last word)


def _spans(sequences: Sequence[Sequence[str]]) -> set[Span]:
  return {(index, kind, start, end)
          for index, tags in enumerate(sequences)
          for kind, start, end in get_entities(list(tags))}


def _prf(found: int, correct: int, gold: int) -> dict[str, float | int]:
  precision = correct / found if found else 0.0
  recall = correct / gold if gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return {"precision": precision, "recall": recall, "f1": f1,
          "found": found, "correct": correct, "gold": gold}


def score(gold_seqs: Sequence[Sequence[str]], pred_seqs: Sequence[Sequence[str]]) -> dict:
  """Scores predicted tag sequences against gold ones, sentence by sentence.

  Returns the overall (micro) `precision`, `recall`, `f1` and span counts `found` (predicted),
  `correct` and `gold`, token `accuracy` and `tokens`, and the same span scores per entity type
  under `per_type` (every type seen in gold or prediction).
  """
  if len(gold_seqs) != len(pred_seqs):
    raise ValueError(f"{len(gold_seqs)} gold sentences but {len(pred_seqs)} predicted")
  tokens = same = 0
  for index, (gold, pred) in enumerate(zip(gold_seqs, pred_seqs)):
    if len(gold) != len(pred):
      raise ValueError(f"sentence {index}: {len(gold)} gold tags but {len(pred)} predicted")
    tokens += len(gold)
    same += sum(g == p for g, p in zip(gold, pred))
  gold_spans, pred_spans = _spans(gold_seqs), _spans(pred_seqs)
  correct_spans = gold_spans & pred_spans
  count = lambda spans: collections.Counter(span[1] for span in spans)
  found_by_type, gold_by_type, correct_by_type = count(pred_spans), count(gold_spans), count(correct_spans)
  result = _prf(len(pred_spans), len(correct_spans), len(gold_spans))
  result["accuracy"] = same / tokens if tokens else 0.0
  result["tokens"] = tokens
  result["per_type"] = {
      kind: _prf(found_by_type[kind], correct_by_type[kind], gold_by_type[kind])
      for kind in sorted(set(found_by_type) | set(gold_by_type))}
  return result


def macro_average(per_language: Mapping[str, Mapping], key: str = "f1") -> float:
  """Unweighted mean of one score over languages (0.0 for none)."""
  if not per_language:
    return 0.0
  return sum(scores[key] for scores in per_language.values()) / len(per_language)


def score_languages(
    gold_and_pred: Mapping[str, tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]]]) -> dict:
  """Scores each language, all languages pooled (`micro`), and the macro averages.

  Returns `{"per_language": {lang: score(...)}, "micro": score(all), "macro_precision",
  "macro_recall", "macro_f1"}`.
  """
  per_language = {lang: score(gold, pred) for lang, (gold, pred) in gold_and_pred.items()}
  all_gold = [tags for gold, _ in gold_and_pred.values() for tags in gold]
  all_pred = [tags for _, pred in gold_and_pred.values() for tags in pred]
  return {"per_language": per_language,
          "micro": score(all_gold, all_pred),
          **{f"macro_{key}": macro_average(per_language, key) for key in ("precision", "recall", "f1")}}
