"""CoNLL column files: reading, writing, and the `Sentence` record the whole project passes around.

Format: one token per line, the token in the first column and the tag in the last, columns split
by TAB (if the line has one) or by spaces, any number of middle columns, a blank line between
sentences, `-DOCSTART-` lines skipped. `.gz` files are read and written transparently. Malformed
input raises `ConllFormatError` whose message starts with `path:line:`.
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import os
import re
from collections.abc import Iterator, Sequence

from polyglot_ner.data import tags as tags_lib

DOCSTART = "-DOCSTART-"
TOKEN_PREFIX = re.compile(r"^[a-z-]+:")  # WikiANN's language prefix, e.g. `sw:Tanzania`
_SPACES = re.compile(r" +")
_UTF8_BOM = codecs.BOM_UTF8


@dataclasses.dataclass(frozen=True)
class Sentence:
  """One annotated sentence: parallel tuples of tokens and (IOB2 after loading) tags."""

  tokens: tuple[str, ...]
  tags: tuple[str, ...]

  def __post_init__(self):
    if len(self.tokens) != len(self.tags):
      raise ValueError(f"{len(self.tokens)} tokens but {len(self.tags)} tags")

  def __len__(self) -> int:
    return len(self.tokens)


class ConllFormatError(ValueError):
  """Malformed CoNLL input; the message reads `path:line: what is wrong`."""

  def __init__(self, path: str | os.PathLike, line: int, problem: str):
    self.path = os.fspath(path)
    self.line = line
    self.problem = problem
    super().__init__(f"{self.path}:{line}: {problem}")


def _open(path: str | os.PathLike, mode: str):
  return gzip.open(path, mode) if os.fspath(path).endswith(".gz") else open(path, mode)


def _read_bytes(path: str | os.PathLike) -> bytes:
  try:
    with _open(path, "rb") as f:
      return f.read()
  except (gzip.BadGzipFile, EOFError) as e:
    raise ConllFormatError(path, 1, f"cannot read as gzip: {e}") from e


def _is_utf8(encoding: str) -> bool:
  return codecs.lookup(encoding).name == "utf-8"


def _decode(path: str | os.PathLike, data: bytes, encoding: str) -> str:
  """Decode a whole file; a UTF-8 BOM is dropped; a bad byte is reported with its line."""
  if _is_utf8(encoding) and data.startswith(_UTF8_BOM):
    data = data[len(_UTF8_BOM):]
  try:
    return data.decode(encoding)
  except UnicodeDecodeError as e:
    line = data.count(b"\n", 0, e.start) + 1
    column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
    raise ConllFormatError(
        path, line, f"byte 0x{data[e.start]:02x} at column {column} is not valid {encoding} "
        f"({e.reason}); if the file is Latin-1 (e.g. CoNLL-2003 German), "
        f"read it with encoding='latin-1'") from e


def detect_encoding(path: str | os.PathLike) -> str:
  """"utf-8-sig" (UTF-8 with a BOM), "utf-8", or "latin-1" when the bytes are not UTF-8."""
  data = _read_bytes(path)
  if data.startswith(_UTF8_BOM):
    data = data[len(_UTF8_BOM):]
    utf8_name = "utf-8-sig"
  else:
    utf8_name = "utf-8"
  try:
    data.decode("utf-8")
  except UnicodeDecodeError:
    return "latin-1"
  return utf8_name


def _split_fields(line: str) -> list[str]:
  """Columns of a non-blank line: TAB-separated if it has a TAB, else separated by spaces."""
  if "\t" in line:
    return line.split("\t")
  fields = line.split(" ")
  return _SPACES.split(line) if "" in fields[1:] else fields


def iter_conll(path: str | os.PathLike, *, encoding: str = "utf-8",
               strip_token_prefix: bool = False) -> Iterator[Sentence]:
  """Yield the sentences of a CoNLL file one by one (tags exactly as written in the file).

  Args:
    path: a CoNLL file, gzip-compressed when it ends in `.gz`.
    encoding: text encoding; with UTF-8 a leading BOM is skipped.
    strip_token_prefix: drop a WikiANN language prefix (`^[a-z-]+:`) from each token.

  Raises:
    ConllFormatError: naming the file and line, for undecodable bytes, a line with one column,
      an empty or whitespace-only token, a tag that is not `O` or `[BIES]-TYPE`, or a file
      without any sentence.
  """
  lines = _decode(path, _read_bytes(path), encoding).split("\n")
  valid_tags = set()
  tokens, tags = [], []
  num_sentences = 0
  for number, line in enumerate([*lines, ""], 1):  # the extra blank line closes the last sentence
    line = line.rstrip(" \t\r")
    fields = _split_fields(line) if line and not line.isspace() else [DOCSTART]
    if fields[0] == DOCSTART:  # a sentence boundary: blank line or document start
      if tokens:
        num_sentences += 1
        yield Sentence(tuple(tokens), tuple(tags))
        tokens, tags = [], []
      continue
    if len(fields) < 2:
      raise ConllFormatError(path, number,
                             f"expected a token and a tag, found one column: {line!r}")
    token, tag = fields[0], fields[-1]
    if not token or token.isspace():
      raise ConllFormatError(path, number, f"empty or whitespace-only token before tag {tag!r}")
    if tag not in valid_tags:
      if not tags_lib.is_valid_tag(tag):
        raise ConllFormatError(
            path, number, f"unknown tag {tag!r}: expected 'O' or B-/I-/E-/S- and a type, "
            f"e.g. 'B-PER'")
      valid_tags.add(tag)
    if strip_token_prefix:
      token = TOKEN_PREFIX.sub("", token, count=1)
      if not token:
        raise ConllFormatError(path, number, f"token {fields[0]!r} is only a language prefix")
    tokens.append(token)
    tags.append(tag)
  if not num_sentences:
    last_line = max(1, len(lines) - (lines[-1] == ""))
    raise ConllFormatError(path, last_line, "no sentences found (empty file?)")


def read_conll(path: str | os.PathLike, *, encoding: str = "utf-8",
               strip_token_prefix: bool = False) -> list[Sentence]:
  """All sentences of a CoNLL file; see `iter_conll` for the format and the errors."""
  return list(iter_conll(path, encoding=encoding, strip_token_prefix=strip_token_prefix))


def write_conll(path: str | os.PathLike, sentences: Sequence[Sentence], *,
                extra_columns: Sequence[Sequence[Sequence[str]]] | None = None) -> None:
  """Write `token tag [extra ...]` lines, UTF-8, a blank line after each sentence.

  `extra_columns` is a list of columns, each holding one sequence of values per sentence; they go
  after the gold tag, so `extra_columns=[predicted_tags]` writes conlleval's `token gold pred`.
  """
  extra_columns = list(extra_columns or [])
  for c, column in enumerate(extra_columns):
    if len(column) != len(sentences):
      raise ValueError(f"extra column {c} has {len(column)} sentences, expected {len(sentences)}")
  if not sentences:
    raise ValueError(f"no sentences to write to {os.fspath(path)}")
  lines = []
  for i, sentence in enumerate(sentences):
    rows = [sentence.tokens, sentence.tags]
    for c, column in enumerate(extra_columns):
      if len(column[i]) != len(sentence):
        raise ValueError(f"extra column {c}, sentence {i}: {len(column[i])} values for "
                         f"{len(sentence)} tokens")
      rows.append(column[i])
    for fields in zip(*rows):
      if any(not field or " " in field or "\t" in field or "\n" in field for field in fields):
        raise ValueError(f"sentence {i}: field in {fields!r} is empty or contains whitespace")
      lines.append(" ".join(fields))
    lines.append("")
  with _open(path, "wb") as f:
    f.write(("\n".join(lines) + "\n").encode("utf-8"))
