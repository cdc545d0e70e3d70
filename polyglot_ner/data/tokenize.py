"""Raw text -> tokens with character offsets: split at whitespace, or CoNLL-style.

The CoNLL corpora split punctuation from words (`Madrid.` -> `Madrid .`, quotes, brackets,
commas) but keep numbers (`1.500`, `3,5%`, `12:30`), abbreviations (`S.A.`, `EE.UU.`), initials
before a name (`J. Pérez`) and inner hyphens and apostrophes (`Castilla-La`, `l'Hospitalet`)
whole; a model trained on them sees `Madrid.` as a word it never met. `conll_style` does that
tokenisation on a shape of the line, one character per character (any letter or combining mark
-> `a`, a decimal digit -> `0`, whitespace -> a space, anything else itself), so it is
Unicode-aware (accents, combining marks, Devanagari vowel signs stay in their word) and every
token keeps its offsets: `line[start:end]` is the token.
"""

from __future__ import annotations

import re
import unicodedata

Span = tuple[int, int]  # a token's [start, end) in its line

_WHITESPACE = re.compile(r"\S+")
_CONLL = re.compile(r"""
    \.\.\.                             # an ellipsis
  | (?:a{1,2}\.){2,}                   # abbreviations: S.A., EE.UU.
  | a\.(?=\ +a)                        # an initial before a word: J. Pérez
  | (?<![a0])[-+]?0+(?:[.,:'/-]0+)*%?  # numbers: 1.500, -0,25, 3,5%, 12:30, 1990-1995
  | [a0]+(?:[-/'’·][a0]+)*             # words, inner hyphens and apostrophes kept
  | \S                                 # any other character alone
""", re.X)


def _shape(char: str) -> str:
  """A character's class in the shape `_CONLL` reads (module docstring)."""
  if char.isspace():
    return " "
  category = unicodedata.category(char)
  if category == "Nd":
    return "0"
  if category[0] in "LMN" or char == "_":
    return "a"
  return char


class _Shapes(dict):
  """Code point -> `_shape`, filled as characters are met: a `str.translate` table that shapes a
  line in one C loop (a line's text holds few distinct characters)."""

  def __missing__(self, code: int) -> str:
    shape = self[code] = _shape(chr(code))
    return shape


_SHAPES = _Shapes()


def whitespace(line: str) -> list[Span]:
  """The tokens of `line` split at whitespace."""
  return [match.span() for match in _WHITESPACE.finditer(line)]


def conll_style(line: str) -> list[Span]:
  """The tokens of `line` split the way the CoNLL corpora are (module docstring)."""
  shape = line.translate(_SHAPES)
  return [match.span() for match in _CONLL.finditer(shape)]


def tokens(line: str, tokenize: bool) -> list[Span]:
  """`conll_style` spans of `line` if `tokenize`, else `whitespace` ones."""
  return conll_style(line) if tokenize else whitespace(line)
