"""Raw text to tag: one sentence per line, tokens split at whitespace (or CoNLL-style,
`tokenize.conll_style`), blank lines skipped.

Decoded and checked like a CoNLL file (`conll.read_text`, `conll.check_token`), so a bad byte or a
NUL names its file, line and column before any tagging.
"""

from __future__ import annotations

import os

from polyglot_ner.data import conll
from polyglot_ner.data import tokenize as tokenize_lib


def read_sentences(path: str | os.PathLike, *, encoding: str = "utf-8", tokenize: bool = False
                   ) -> list[tuple[str, ...]]:
  """The tokens of each non-blank line of a text file."""
  sentences = split_sentences(conll.read_text(path, encoding), path, tokenize)
  if not sentences:
    raise conll.ConllFormatError(path, 1, "no sentences found (empty file?)")
  return sentences


def split_sentences(text: str, source: str | os.PathLike = "<text>", tokenize: bool = False
                    ) -> list[tuple[str, ...]]:
  """The tokens of each non-blank line of `text`; a bad token names `source`, line and column."""
  sentences = []
  for number, line in enumerate(text.split("\n"), 1):
    tokens = tuple(line[start:end] for start, end in checked_spans(line, number, tokenize, source))
    if tokens:
      sentences.append(tokens)
  return sentences


def checked_spans(line: str, number: int, tokenize: bool, source: str | os.PathLike = "<text>"
                  ) -> list[tokenize_lib.Span]:
  """The spans of a line's tokens (`tokenize.tokens`), each token checked as a file's are
  (`conll.check_token`: a bad one names `source`, line `number` and its column). A token never
  holds whitespace, so only a NUL can make one bad: a line without one needs no check."""
  spans = tokenize_lib.tokens(line, tokenize)
  if "\0" in line:
    for start, end in spans:
      conll.check_token(source, number, start + 1, line[start:end])
  return spans
