"""Entity tag schemes (IOB1, IOB2, IOBES): validation, detection, conversion, chunk spans and the
transitions each scheme allows (what a CRF's constrained decoding and training keep to).

Corpora disagree on their scheme (CoNLL-2003 is IOB1, the rest IOB2 with a few slips), so every
corpus is normalised to IOB2 at load. All conversions go through `spans`, which follows conlleval's
chunk rules, so a conversion can never change the set of entities that conlleval would score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from polyglot_ner import errors

SCHEMES = ("IOB1", "IOB2", "IOBES")
_ALIASES = {"BIO": "IOB2", "BIOES": "IOBES"}
OUTSIDE = "O"

Span = tuple[str, int, int]  # (entity type, start, end exclusive)

# An entity type: a letter (any script), then letters, digits, `_` or `-` (`WORK-OF-ART`, `ÉT`), as
# conlleval reads types since its 2004 fix; the prefix is everything before the first hyphen.
_TYPE = r"[^\W\d_][\w-]*"
_TAG_PATTERN = re.compile(rf"(?:[BIES]-{_TYPE}|O)\Z")
_TYPE_PATTERN = re.compile(rf"{_TYPE}\Z")


def scheme_name(scheme: str) -> str:
  """The scheme's name in `SCHEMES` (case-insensitive; BIO is IOB2, BIOES is IOBES)."""
  name = _ALIASES.get(scheme.upper(), scheme.upper())
  if name not in SCHEMES:
    raise errors.UserError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)} "
                           f"(or {', '.join(_ALIASES)})")
  return name


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
    if tag == OUTSIDE:  # most tags: an O ends the open chunk and starts none
      if start is not None:
        result.append((prev_type, start, i))
        start = None
      prev_prefix, prev_type = OUTSIDE, None
      continue
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
  scheme = scheme_name(scheme)
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
    if target != OUTSIDE and (not _TYPE_PATTERN.match(target) or is_valid_tag(target)):
      raise errors.UserError(f"type_map[{source!r}] = {target!r} is neither a type name nor 'O'")
  kept = []
  for type_, start, end in spans(tags):
    new_type = type_map.get(type_, type_)
    if new_type != OUTSIDE:
      kept.append((new_type, start, end))
  return tags_from_spans(kept, len(tags))


def allowed_transitions(tags: Sequence[str],
                        scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Which of `tags` may follow which in `scheme`: bool [C, C] (`tags[i]` then `tags[j]`), and bool
  [C] each for the first and the last tag of a sentence.

  IOB2: I-X only after B-X or I-X. IOB1: B-X only after B-X or I-X (it splits two adjacent X
  chunks). IOBES: B-X and I-X go on to I-X or E-X; O, E-X, S-X go on to O, B-Y or S-Y; a sentence
  starts with O, B or S and ends with O, E or S. A sequence keeping to these is exactly one that
  the scheme writes for its `spans`.
  """
  scheme = scheme_name(scheme)
  for tag in tags:
    problem = tag_problem(tag, scheme)
    if problem:
      raise ValueError(problem)
  transitions = np.array([[_follows(scheme, a, b) for b in tags] for a in tags], dtype=bool)
  first = np.array([_follows(scheme, None, tag) for tag in tags], dtype=bool)
  last = np.array([_follows(scheme, tag, None) for tag in tags], dtype=bool)
  return transitions.reshape(len(tags), len(tags)), first, last


def _follows(scheme: str, prev: str | None, tag: str | None) -> bool:
  """Whether `tag` may follow `prev` (valid tags of `scheme`); None is the sentence boundary."""
  if scheme == "IOBES":
    if prev is None:
      return tag[0] in "OBS"
    if tag is None:
      return prev[0] in "OES"
    if prev[0] in "BI":
      return tag[0] in "IE" and entity_type(tag) == entity_type(prev)
    return tag[0] in "OBS"
  continues = "I" if scheme == "IOB2" else "B"  # the prefix that must extend a chunk of its type
  if tag is None or tag[0] != continues:
    return True
  return prev is not None and prev[0] in "BI" and entity_type(prev) == entity_type(tag)
