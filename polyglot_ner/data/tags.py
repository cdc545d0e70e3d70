"""Entity tag schemes (IOB1, IOB2, IOBES): validation, detection, conversion and chunk spans.

Corpora disagree on their scheme (CoNLL-2003 is IOB1, the rest IOB2 with a few slips), so every
corpus is normalised to IOB2 at load. All conversions go through `spans`, which follows conlleval's
chunk rules, so a conversion can never change the set of entities that conlleval would score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from polyglot_ner import errors

SCHEMES = ("IOB1", "IOB2", "IOBES")
OUTSIDE = "O"

Span = tuple[str, int, int]  # (entity type, start, end exclusive)

_TAG_PATTERN = re.compile(r"(?:[BIES]-[A-Za-z][A-Za-z0-9_]*|O)\Z")
_TYPE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def is_valid_tag(tag: str) -> bool:
  """True for `O` and for `B-`, `I-`, `E-`, `S-` followed by a type name such as `PER`."""
  return _TAG_PATTERN.match(tag) is not None


def tag_problem(tag: str, scheme: str | None = None) -> str | None:
  """What is wrong with a tag of a file in `scheme` (None: any scheme), or None if nothing."""
  if not is_valid_tag(tag):
    return f"unknown tag {tag!r}: expected 'O' or B-/I-/E-/S- and a type, e.g. 'B-PER'"
  if scheme is not None and scheme != "IOBES" and tag[0] in "ES":
    return f"tag {tag!r} cannot occur in {scheme} (E-/S- tags exist only in IOBES)"
  return None


def entity_type(tag: str) -> str | None:
  """The entity type of a tag (`B-PER` -> `PER`), None for `O`."""
  return None if tag == OUTSIDE else tag[2:]


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str | None, type_: str | None) -> bool:
  """conlleval's endOfChunk: does the chunk open before this tag end here?"""
  if prev_prefix == OUTSIDE:
    return False
  return (prev_prefix in "ES" or prefix in "BSO" or prev_type != type_)


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str | None, type_: str | None) -> bool:
  """conlleval's startOfChunk: does a chunk begin at this tag?"""
  if prefix == OUTSIDE:
    return False
  return (prefix in "BS" or prev_prefix in "ESO" or prev_type != type_)


def spans(tags: Sequence[str]) -> list[Span]:
  """Chunks as (type, start, end_exclusive), with conlleval's rules.

  A chunk starts at `B-X`/`S-X`, or at `I-X`/`E-X` after `O`, after a chunk end (`E-`, `S-`) or
  after another type; so IOB1, IOB2 (including stray `I-X` after `O`) and IOBES all work.
  """
  result = []
  start = None
  prev_prefix, prev_type = OUTSIDE, None
  for i, tag in enumerate(tags):
    if tag == OUTSIDE:
      prefix, type_ = OUTSIDE, None
    else:
      prefix, type_ = tag[0], tag[2:]
    if start is not None and _chunk_ends(prev_prefix, prefix, prev_type, type_):
      result.append((prev_type, start, i))
      start = None
    if _chunk_starts(prev_prefix, prefix, prev_type, type_):
      start = i
    prev_prefix, prev_type = prefix, type_
  if start is not None:
    result.append((prev_type, start, len(tags)))
  return result


def tags_from_spans(chunks: Iterable[Span], length: int, scheme: str = "IOB2") -> list[str]:
  """Tags of a sentence of `length` words holding the given non-overlapping chunks."""
  if scheme not in ("IOB2", "IOBES"):
    raise ValueError(f"can only write IOB2 or IOBES tags, not {scheme!r}")
  tags = [OUTSIDE] * length
  for type_, start, end in chunks:
    if not 0 <= start < end <= length:
      raise ValueError(f"span {(type_, start, end)} does not fit a sentence of {length} words")
    if scheme == "IOBES" and end - start == 1:
      tags[start] = "S-" + type_
      continue
    tags[start] = "B-" + type_
    tags[start + 1:end] = ["I-" + type_] * (end - start - 1)
    if scheme == "IOBES":
      tags[end - 1] = "E-" + type_
  return tags


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
  """Guess the scheme of a corpus: "IOBES", "IOB1" or "IOB2".

  IOBES if any `E-`/`S-` tag occurs. Otherwise count chunk starts written as `I-X` (IOB1 style)
  against `B-X` after `O`, at sentence start or after another type (which IOB1 never writes):
  IOB1 if the former are the majority, else IOB2. A few annotation slips (stray `I-X` after `O`
  in an IOB2 corpus) therefore do not flip the verdict; a corpus without entities is IOB2.
  """
  b_starts = i_starts = 0
  for tags in tag_sequences:
    prev = OUTSIDE
    for tag in tags:
      prefix = tag[0]
      if prefix in "ES":
        return "IOBES"
      if prefix != OUTSIDE and (prev == OUTSIDE or prev[2:] != tag[2:]):
        if prefix == "B":
          b_starts += 1
        else:
          i_starts += 1
      prev = tag
  return "IOB1" if i_starts > b_starts else "IOB2"


def _check_prefixes(tags: Sequence[str], scheme: str) -> None:
  if scheme not in SCHEMES:
    raise errors.UserError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
  if scheme != "IOBES":
    wrong = sorted({tag for tag in tags if tag[0] in "ES"})
    if wrong:
      raise ValueError(f"tags {wrong} are not {scheme} (E-/S- only exist in IOBES)")


def to_iob2(tags: Sequence[str], scheme: str) -> list[str]:
  """Convert tags written in `scheme` to IOB2, keeping every conlleval chunk."""
  _check_prefixes(tags, scheme)
  return tags_from_spans(spans(tags), len(tags))


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
  """IOB1 -> IOB2; also repairs a stray `I-X` after `O` in IOB2 input by making it `B-X`."""
  return to_iob2(tags, "IOB1")


def iob2_to_iobes(tags: Sequence[str]) -> list[str]:
  """IOB2 -> IOBES (single-word chunks become `S-`, chunk ends `E-`)."""
  _check_prefixes(tags, "IOB2")
  return tags_from_spans(spans(tags), len(tags), "IOBES")


def iobes_to_iob2(tags: Sequence[str]) -> list[str]:
  """IOBES -> IOB2."""
  return to_iob2(tags, "IOBES")


def map_types(tags: Sequence[str], type_map: Mapping[str, str]) -> list[str]:
  """Rename entity types by `type_map` (types not in it are kept; a type mapped to "O" is dropped).

  Works chunk by chunk, so the result is valid IOB2 whatever is merged or dropped; two adjacent
  chunks that end up with the same type stay two chunks (`B-X B-X`).
  """
  for source, target in type_map.items():
    if target != OUTSIDE and not _TYPE_PATTERN.match(target):
      raise errors.UserError(f"type_map[{source!r}] = {target!r} is neither a type name nor 'O'")
  kept = []
  for type_, start, end in spans(tags):
    new_type = type_map.get(type_, type_)
    if new_type != OUTSIDE:
      kept.append((new_type, start, end))
  return tags_from_spans(kept, len(tags))
