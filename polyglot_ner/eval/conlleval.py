"""conlleval-compatible span scoring: precision, recall and F1 per entity type, per language, overall.

Spans come from `polyglot_ner.data.tags.spans`, conlleval's `startOfChunk`/`endOfChunk` rules: IOB1
gold, a stray `I-` after `O`, and a type switch inside a span (`B-PER I-LOC`, two spans) score as
conlleval scores them. conlleval itself reads `E-`/`S-` as IOE tags (`S-PER S-PER` would be one
span), so a sentence holding `E-`/`S-` tags is converted to IOB2 first (the usual practice). A
tag that is neither `O` nor `B-`/`I-`/`E-`/`S-` + type (a bare `PER`) is an error: conlleval would
invent a chunk tag for it. A span is correct when gold and prediction have the same type, start and
end; token accuracy compares the tags as scored (IOBES converted).

Scores are fractions in [0, 1]; an empty denominator gives 0 as in conlleval. conlleval prints
`%.2f` of percentages it computes as `100 * correct / found` and `2 * P * R / (P + R)` on those;
`100 * f1` can differ in the last bit and round a tie the other way (3.12 where conlleval prints
3.13), so print `percentages` (or `report`, conlleval's own text), never `100 * fraction`.

`read` reads conlleval's input by conlleval's rules (`polyglot-ner score`): the last two fields of
a line are the gold and the predicted tag, a blank line or a line whose first field is `-X-` ends a
sentence (its tags count as O, and it is no token), every line has as many fields as the first;
`-DOCSTART-` lines are tokens tagged O, as in conlleval.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from polyglot_ner.data import conll
from polyglot_ner.data import tags as tags_lib
from polyglot_ner.errors import UserError

Span = tuple[int, str, int, int]  # (sentence, type, first word, end exclusive)
BOUNDARY = "-X-"  # a line whose first field is this ends a sentence, as a blank line does


class Sentence(NamedTuple):
  """One sentence as conlleval scores it: its tags (IOBES written as IOB2) and their chunks."""

  gold: Sequence[str]
  pred: Sequence[str]
  gold_spans: frozenset[tags_lib.Span]
  pred_spans: frozenset[tags_lib.Span]


def as_iob(tags: Sequence[str], where: str = "") -> Sequence[str]:
  """The tags conlleval should read: IOBES written as IOB2, anything else as is; UserError on a tag
  without a prefix. (A valid IOBES sentence with entities always holds an `E-` or `S-`.)"""
  for tag in tags:
    if not tags_lib.is_valid_tag(tag):
      raise UserError(f"{where}tag {tag!r} is neither O nor B-/I-/E-/S- followed by an entity "
                      "type")
  if any(tag[0] in "ES" for tag in tags):
    return tags_lib.tags_from_spans(tags_lib.spans(tags), len(tags))
  return tags


def sentences(gold_seqs: Sequence[Sequence[str]],
              pred_seqs: Sequence[Sequence[str]]) -> list[Sentence]:
  """Gold and predicted sentences paired as `score` reads them; the one place that chunks them
  (the paired bootstrap counts these same spans). UserError on a length mismatch or a bad tag."""
  if len(gold_seqs) != len(pred_seqs):
    raise UserError(f"{len(gold_seqs)} gold sentences but {len(pred_seqs)} predicted")
  result = []
  for index, (gold, pred) in enumerate(zip(gold_seqs, pred_seqs)):
    if len(gold) != len(pred):
      raise UserError(f"sentence {index}: {len(gold)} gold tags but {len(pred)} predicted")
    gold = as_iob(gold, f"gold sentence {index}: ")
    pred = as_iob(pred, f"predicted sentence {index}: ")
    result.append(Sentence(gold, pred, frozenset(tags_lib.spans(gold)),
                           frozenset(tags_lib.spans(pred))))
  return result


def prf(found: int, correct: int, gold: int) -> dict[str, float | int]:
  """Precision, recall and F1 of `found` predicted spans, `correct` of them in `gold` ones."""
  precision = correct / found if found else 0.0
  recall = correct / gold if gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return {"precision": precision, "recall": recall, "f1": f1,
          "found": found, "correct": correct, "gold": gold}


def score(gold_seqs: Sequence[Sequence[str]], pred_seqs: Sequence[Sequence[str]]) -> dict:
  """Scores predicted tag sequences against gold ones, sentence by sentence.

  Returns the overall (micro) `precision`, `recall`, `f1` and span counts `found` (predicted),
  `correct` and `gold`, token `accuracy`, `correct_tags` and `tokens`, and the same span scores per
  entity type under `per_type` (every type seen in gold or prediction).
  """
  paired = sentences(gold_seqs, pred_seqs)
  gold_spans = {(index, *span) for index, s in enumerate(paired) for span in s.gold_spans}
  pred_spans = {(index, *span) for index, s in enumerate(paired) for span in s.pred_spans}
  tokens = sum(len(s.gold) for s in paired)
  same = sum(g == p for s in paired for g, p in zip(s.gold, s.pred))
  correct_spans = gold_spans & pred_spans
  count = lambda spans: collections.Counter(span[1] for span in spans)
  found_by_type, gold_by_type = count(pred_spans), count(gold_spans)
  correct_by_type = count(correct_spans)
  result = prf(len(pred_spans), len(correct_spans), len(gold_spans))
  result["accuracy"] = same / tokens if tokens else 0.0
  result["correct_tags"] = same
  result["tokens"] = tokens
  result["per_type"] = {
      kind: prf(found_by_type[kind], correct_by_type[kind], gold_by_type[kind])
      for kind in sorted(set(found_by_type) | set(gold_by_type))}
  return result


def percentages(scores: Mapping) -> dict[str, float]:
  """`precision`, `recall`, `f1` (and `accuracy` for an overall score) in percent, computed from
  the counts in conlleval's order of operations, so `%.2f` prints conlleval's digits."""
  found, correct, gold = scores["found"], scores["correct"], scores["gold"]
  precision = 100 * correct / found if found else 0.0
  recall = 100 * correct / gold if gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  result = {"precision": precision, "recall": recall, "f1": f1}
  if "tokens" in scores:
    tokens = scores["tokens"]
    result["accuracy"] = 100 * scores["correct_tags"] / tokens if tokens else 0.0
  return result


def _padded(text: str, width: int, left: bool = False) -> str:
  """`text` padded to `width` UTF-8 bytes, as Perl's printf pads the undecoded bytes it reads."""
  padding = " " * max(0, width - len(text.encode("utf-8")))
  return text + padding if left else padding + text


def report(scores: Mapping, latex: bool = False) -> str:
  """conlleval's text output for a `score` result, digit for digit (`latex`: its `-l` table)."""
  overall = percentages(scores)
  if latex:
    lines = ["        & Precision &  Recall  & F$_{\\beta=1} \\\\\\hline"]
    for kind, type_scores in scores["per_type"].items():
      p = percentages(type_scores)
      lines.append(f"{_padded(kind, 7, left=True)} &  {p['precision']:6.2f}\\% & "
                   f"{p['recall']:6.2f}\\% & {p['f1']:6.2f} \\\\")
    lines[-1] += "\\hline"
    lines.append(f"Overall &  {overall['precision']:6.2f}\\% & {overall['recall']:6.2f}\\% & "
                 f"{overall['f1']:6.2f} \\\\\\hline")
    return "\n".join(lines) + "\n"
  lines = [f"processed {scores['tokens']} tokens with {scores['gold']} phrases; "
           f"found: {scores['found']} phrases; correct: {scores['correct']}."]
  if scores["tokens"]:
    lines.append(f"accuracy: {overall['accuracy']:6.2f}%; precision: {overall['precision']:6.2f}%; "
                 f"recall: {overall['recall']:6.2f}%; FB1: {overall['f1']:6.2f}")
  for kind, type_scores in scores["per_type"].items():
    p = percentages(type_scores)
    lines.append(f"{_padded(kind, 17)}: precision: {p['precision']:6.2f}%; "
                 f"recall: {p['recall']:6.2f}%; FB1: {p['f1']:6.2f}  {type_scores['found']}")
  return "\n".join(lines) + "\n"


def read(text: str, source: str | os.PathLike = "<stdin>", *, delimiter: str = " ",
         raw: bool = False, outside: str = "O") -> tuple[list[list[str]], list[list[str]]]:
  """Gold and predicted tags of each sentence of conlleval input `text` (see the module doc).

  `delimiter` is a regular expression, as conlleval's `-d`; `raw` (`-r`): the tags have no B-/I-
  prefix and each tagged token is a chunk of its own, `outside` (`-o`) being the outside tag.
  A line conlleval would refuse, or a tag it would misread, is a `conll.ConllFormatError` naming
  `source` and the line.
  """
  gold, pred = [[]], [[]]
  columns = None
  for number, line in enumerate(text.split("\n")[:-1] if text.endswith("\n")
                                else text.split("\n"), 1):
    fields = re.split(delimiter, line)
    while fields and not fields[-1]:  # Perl's split drops trailing empty fields
      fields.pop()
    if columns is None and fields:
      columns = len(fields)
    elif fields and len(fields) != columns:
      raise conll.ConllFormatError(source, number, f"{len(fields)} fields where the first line "
                                   f"has {columns}: {line!r}")
    if not fields or fields[0] == BOUNDARY:
      if gold[-1]:
        gold.append([])
        pred.append([])
      continue
    if len(fields) < 2:
      raise conll.ConllFormatError(source, number, f"expected a gold and a predicted tag, found "
                                   f"one field: {line!r}")
    for tags, tag in ((gold, fields[-2]), (pred, fields[-1])):
      if raw:
        tag = "O" if tag in (outside, "O") else f"B-{tag}"
      problem = tags_lib.tag_problem(tag)
      if problem:
        raise conll.ConllFormatError(source, number, problem)
      tags[-1].append(tag)
  return gold, pred


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
