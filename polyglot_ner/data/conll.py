"""CoNLL column files: reading, writing, and the `Sentence` record the whole project passes around.

Format: one token per line, the token in the first column and the tag in the last, columns split
by TAB (if the line has one) or by spaces, any number of middle columns (as many on every line of
a file), a blank line between sentences, `-DOCSTART-` lines skipped. `.gz` files are read and
written transparently.

This reader holds every check a corpus must pass, so that loading a split for training and
`polyglot-ner data validate` accept and reject the same files, before any training step. Malformed
input raises `ConllFormatError` (a `UserError`) whose message starts with `path:line:` or
`path:line:column:`; a missing file raises `NotFound`.
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import os
import re
import zlib
from collections.abc import Iterator, Sequence

from polyglot_ner import errors
from polyglot_ner.data import tags as tags_lib

DOCSTART = "-DOCSTART-"
TOKEN_PREFIX = re.compile(r"^[a-z-]+:")  # WikiANN's language prefix, e.g. `sw:Tanzania`
_SPACES = re.compile(r" +")
# Whitespace would split a token in the space-separated prediction files; NUL separates the words
# of a batch's byte buffer (`kinds.byte_crf.batches.PackedSentences`).
_UNWRITABLE = re.compile(r"[\s\x00]")
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_LATIN1_HINT = ("; if the file is Latin-1 (as CoNLL-2003 German is), read it as Latin-1 "
                "(--encoding latin-1)")


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


class ConllFormatError(errors.UserError):
  """Malformed input; the message reads `path:line: what is wrong` (or `path:line:column: ...`)."""

  def __init__(self, path: str | os.PathLike, line: int, problem: str, column: int | None = None):
    self.path = os.fspath(path)
    self.line = line
    self.column = column
    self.problem = problem
    where = f"{self.path}:{line}" if column is None else f"{self.path}:{line}:{column}"
    super().__init__(f"{where}: {problem}")


def _open(path: str | os.PathLike, mode: str):
  return gzip.open(path, mode) if os.fspath(path).endswith(".gz") else open(path, mode)


def os_error(path: str | os.PathLike, error: OSError, verb: str) -> errors.UserError:
  """The user error for a file that cannot be read or written: NotFound when it (or its folder)
  is missing."""
  if isinstance(error, FileNotFoundError):
    missing = "does not exist" if verb == "read" else "is in a folder that does not exist"
    return errors.NotFound(f"file {os.fspath(path)} {missing}")
  return errors.UserError(f"cannot {verb} {os.fspath(path)}: {error.strerror or error}")


def _read_bytes(path: str | os.PathLike) -> bytes:
  try:
    with _open(path, "rb") as f:
      return f.read()
  except (gzip.BadGzipFile, EOFError, zlib.error) as e:
    raise ConllFormatError(path, 1, f"cannot read as gzip: {e}") from e
  except OSError as e:
    raise os_error(path, e, "read") from e


def _utf16_evidence(data: bytes) -> str | None:
  """Why the bytes look UTF-16 (a BOM, or NUL bytes at every other position), else None."""
  if data.startswith(_UTF16_BOMS):
    return "it starts with a UTF-16 byte-order mark"
  head = data[:4096]
  if len(head) >= 2 and 2 * max(head[0::2].count(0), head[1::2].count(0)) >= len(head) // 2:
    return "NUL bytes between its characters"
  return None


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
  """A whole file as text; a UTF-8 BOM is dropped; UTF-16 (unless asked for) and undecodable
  bytes are errors naming the file, line and (byte) column."""
  return decode(_read_bytes(path), path, encoding)


def decode(data: bytes, path: str | os.PathLike, encoding: str = "utf-8") -> str:
  """The bytes of file `path` (or a stream so named) as text, checked as `read_text` checks."""
  try:
    codec = codecs.lookup(encoding).name
  except LookupError:
    raise errors.UserError(f"unknown encoding {encoding!r} for {os.fspath(path)}") from None
  evidence = None if codec.startswith("utf-16") else _utf16_evidence(data)
  if evidence:
    raise ConllFormatError(path, 1, f"the file is UTF-16 ({evidence}), not {encoding}: convert it "
                           f"to UTF-8 (iconv -f UTF-16 -t UTF-8) or read it with --encoding utf-16")
  if codec == "utf-8" and data.startswith(_UTF8_BOM):
    data = data[len(_UTF8_BOM):]
  try:
    return data.decode(encoding)
  except UnicodeDecodeError as e:
    line_start = data.rfind(b"\n", 0, e.start) + 1
    raise ConllFormatError(
        path, data.count(b"\n", 0, e.start) + 1,
        f"byte 0x{data[e.start]:02x} is not valid {encoding} ({e.reason})"
        f"{_LATIN1_HINT if codec == 'utf-8' else ''}", e.start - line_start + 1) from e


def token_problem(token: str) -> tuple[int, str] | None:
  """(0-based position, what is wrong) for a token that cannot be a word, else None."""
  if not token or token.isspace():
    return 0, "empty or whitespace-only token"
  match = _UNWRITABLE.search(token)
  if match is None:
    return None
  char = match.group()
  what = {"\0": "a NUL character", " ": "a space"}.get(char, f"whitespace {char!r}")
  return match.start(), (f"token {token!r} contains {what}; tokens cannot hold whitespace "
                         f"(prediction files are space-separated) or NUL")


def check_token(path: str | os.PathLike, line: int, column: int, token: str) -> None:
  """Raises `ConllFormatError` at the offending character if `token_problem` finds one; `column`
  is the token's 1-based column on its line."""
  problem = token_problem(token)
  if problem:
    raise ConllFormatError(path, line, problem[1], column + problem[0])


def _split_fields(line: str) -> list[str]:
  """Columns of a non-blank line: TAB-separated if it has a TAB, else separated by spaces."""
  if "\t" in line:
    return line.split("\t")
  fields = line.split(" ")
  return _SPACES.split(line) if "" in fields[1:] else fields


_Row = tuple[int, str, list[str]]  # (line number, line, columns) of one token line


def _sentence_rows(path: str | os.PathLike, encoding: str) -> Iterator[list[_Row]]:
  """The token lines of each sentence, their tokens checked; `-DOCSTART-` lines are skipped."""
  lines = read_text(path, encoding).split("\n")
  rows = []
  found = False
  for number, line in enumerate([*lines, ""], 1):  # the extra blank line closes the last sentence
    line = line.rstrip(" \t\r")
    fields = _split_fields(line) if line and not line.isspace() else [DOCSTART]
    if fields[0] != DOCSTART:
      if not fields[0] or _UNWRITABLE.search(fields[0]):  # the cases `token_problem` reports
        check_token(path, number, 1, fields[0])
      rows.append((number, line, fields))
    elif rows:  # a sentence boundary: blank line or document start
      found = True
      yield rows
      rows = []
  if not found:
    last_line = max(1, len(lines) - (lines[-1] == ""))
    raise ConllFormatError(path, last_line, "no sentences found (empty file?)")


def _strip_prefix(path: str | os.PathLike, number: int, token: str) -> str:
  stripped = TOKEN_PREFIX.sub("", token, count=1)
  if not stripped:
    raise ConllFormatError(path, number, f"token {token!r} is only a language prefix")
  return stripped


def _column_count_problem(first: tuple[int, int], fields: list[str], line: str) -> str:
  """Why a token line with another column count than the first is refused: a token holding a
  space (`New York B-LOC` in a 2-column file) would otherwise be read as a middle column."""
  hint = "; a token cannot hold a space" if len(fields) > first[1] else ""
  return (f"expected {first[1]} columns as on line {first[0]} (the first token line), found "
          f"{len(fields)}: {line!r}{hint}")


def iter_conll(path: str | os.PathLike, *, encoding: str = "utf-8",
               strip_token_prefix: bool = False, scheme: str | None = None) -> Iterator[Sentence]:
  """Yield the sentences of a CoNLL file one by one (tags exactly as written in the file).

  Args:
    path: a CoNLL file, gzip-compressed when it ends in `.gz`.
    encoding: text encoding; with UTF-8 a leading BOM is skipped.
    strip_token_prefix: drop a WikiANN language prefix (`^[a-z-]+:`) from each token.
    scheme: the tag scheme the file is in (`tags.SCHEMES`); None accepts O/B-/I-/E-/S- tags.

  Raises:
    ConllFormatError: naming the file and line (and column), for UTF-16 or undecodable bytes, a
      line with one column or with another column count than the file's first token line, an
      empty token or one holding whitespace or NUL, a tag that is not
      `O` or `[BIES]-TYPE` (or not of `scheme`), or a file without any sentence.
    NotFound: the file does not exist.
  """
  checked_tags = set()
  first = None  # (line number, column count) of the file's first token line
  for rows in _sentence_rows(path, encoding):
    tokens, tags = [], []
    for number, line, fields in rows:
      if len(fields) < 2:
        raise ConllFormatError(path, number,
                               f"expected a token and a tag, found one column: {line!r}")
      first = first or (number, len(fields))
      if len(fields) != first[1]:
        raise ConllFormatError(path, number, _column_count_problem(first, fields, line))
      token, tag = fields[0], fields[-1]
      if tag not in checked_tags:
        problem = tags_lib.tag_problem(tag, scheme)
        if problem:
          raise ConllFormatError(path, number, problem)
        checked_tags.add(tag)
      tokens.append(_strip_prefix(path, number, token) if strip_token_prefix else token)
      tags.append(tag)
    yield Sentence(tuple(tokens), tuple(tags))


def tag_lines(path: str | os.PathLike, *, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
  """(line number, last column) of each token line: where to point at a tag once sentences have
  been read without their line numbers."""
  for rows in _sentence_rows(path, encoding):
    for number, _, fields in rows:
      yield number, fields[-1]


def has_tags(path: str | os.PathLike, *, encoding: str = "utf-8") -> bool:
  """Whether the file's first token line has a tag column (else it is a tokens-only file)."""
  return len(next(_sentence_rows(path, encoding))[0][2]) > 1


def read_tokens(path: str | os.PathLike, *, encoding: str = "utf-8",
                strip_token_prefix: bool = False) -> list[tuple[str, ...]]:
  """The sentences of a tokens-only file (one column), checked as `iter_conll` checks tokens."""
  sentences = []
  for rows in _sentence_rows(path, encoding):
    for number, line, fields in rows:
      if len(fields) > 1:
        raise ConllFormatError(path, number, f"a tokens-only file has one column, got {line!r}")
    sentences.append(tuple(_strip_prefix(path, number, fields[0]) if strip_token_prefix
                           else fields[0] for number, _, fields in rows))
  return sentences


def read_conll(path: str | os.PathLike, *, encoding: str = "utf-8",
               strip_token_prefix: bool = False, scheme: str | None = None) -> list[Sentence]:
  """All sentences of a CoNLL file; see `iter_conll` for the format and the errors."""
  return list(iter_conll(path, encoding=encoding, strip_token_prefix=strip_token_prefix,
                         scheme=scheme))


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
      for field in fields:
        problem = token_problem(field)
        if problem:
          raise ValueError(f"sentence {i}: {problem[1]}")
      lines.append(" ".join(fields))
    lines.append("")
  try:
    with _open(path, "wb") as f:
      f.write(("\n".join(lines) + "\n").encode("utf-8"))
  except OSError as e:
    raise os_error(path, e, "write") from e
