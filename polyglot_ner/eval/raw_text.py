"""What tokenising raw text is worth: gold sentences written out as text, tagged, scored by span.

A corpus gives tokens; a user gives text. `detokenize` writes a sentence's tokens as text is
written (no space before closing punctuation, none after opening punctuation, straight double
quotes paired), keeping each token's character offsets. `score` tags those lines with
`run.entities` (split CoNLL-style with `tokenize`, at whitespace without) and scores its entities
by exact character span and type against the gold chunks: conlleval's span F1, with the errors of
the tokenisation included (an entity whose text is `Madrid.` does not match gold's `Madrid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyglot_ner.data import conll
from polyglot_ner.data import tags as tags_lib
from polyglot_ner.eval import conlleval

Span = tuple[int, int]
_CLOSING = frozenset({".", ",", ";", ":", "!", "?", ")", "]", "}", "%", "...", "»", "”", "’"})
_OPENING = frozenset({"(", "[", "{", "¿", "¡", "«", "“", "‘"})


def detokenize(tokens: Sequence[str]) -> tuple[str, list[Span]]:
  """`tokens` as one line of text, and each token's `(start, end)` in it."""
  line, offsets = "", []
  glued, quote_open = True, False  # glued: no space before the next token
  for token in tokens:
    closing = token in _CLOSING or (token == '"' and quote_open)
    if not (glued or closing):
      line += " "
    offsets.append((len(line), len(line) + len(token)))
    line += token
    glued = token in _OPENING or (token == '"' and not quote_open)
    quote_open ^= token == '"'
  return line, offsets


def gold_entities(sentence: conll.Sentence, offsets: Sequence[Span]) -> set[tuple[int, int, str]]:
  """The (start, end, type) of each gold chunk of `sentence`, its tokens at `offsets`."""
  return {(offsets[first][0], offsets[last - 1][1], type_)
          for type_, first, last in tags_lib.spans(sentence.tags)}


def score(run: Any, sentences: Sequence[conll.Sentence], lang: str | None = None, *,
          tokenize: bool, batch_size: int | None = None) -> dict[str, Any]:
  """Span precision, recall and F1 (`conlleval.prf`) of `run.entities` on `sentences` written out
  as text (`detokenize`), split CoNLL-style if `tokenize`, else at whitespace."""
  written = [detokenize(s.tokens) for s in sentences]
  found = run.entities([line for line, _ in written], lang, tokenize=tokenize,
                       batch_size=batch_size)
  num_found = num_correct = num_gold = 0
  for sentence, (_, offsets), entities in zip(sentences, written, found):
    gold = gold_entities(sentence, offsets)
    predicted = {(e["start"], e["end"], e["type"]) for e in entities}
    num_found, num_gold = num_found + len(predicted), num_gold + len(gold)
    num_correct += len(predicted & gold)
  return conlleval.prf(num_found, num_correct, num_gold)
