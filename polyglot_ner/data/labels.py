"""Tag <-> id maps, saved with a run so that a fine-tuned child reuses its parent's ids.

The order is a pure function of the entity types: `O` is id 0, then `B-T`, `I-T` for each type T
in sorted order. Both prefixes are always present, so two corpora with the same types get the
same map whatever order their sentences come in.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from polyglot_ner import errors
from polyglot_ner.data import tags as tags_lib
from polyglot_ner.data.conll import Sentence


class UnknownTagError(errors.UserError):
  """A tag that the label map has no id for."""


class LabelMap:
  """Deterministic IOB2 tag <-> id map (`O` = 0, then sorted B-/I- tags by type)."""

  def __init__(self, types: Iterable[str]):
    types = sorted(set(types))
    for type_ in types:
      if not tags_lib.is_valid_tag("B-" + type_):
        raise ValueError(f"invalid entity type {type_!r}")
    self.types: tuple[str, ...] = tuple(types)
    self.tags: tuple[str, ...] = (tags_lib.OUTSIDE,) + tuple(
        prefix + type_ for type_ in types for prefix in ("B-", "I-"))
    self._ids = {tag: i for i, tag in enumerate(self.tags)}

  @classmethod
  def from_tags(cls, tags: Iterable[str]) -> LabelMap:
    """The map covering the types of these IOB2 tags."""
    types = set()
    for tag in set(tags):
      if not tags_lib.is_valid_tag(tag) or tag[0] in "ES":
        raise ValueError(f"{tag!r} is not an IOB2 tag; normalise to IOB2 before building a map")
      if tag != tags_lib.OUTSIDE:
        types.add(tag[2:])
    return cls(types)

  @classmethod
  def from_sentences(cls, sentences: Iterable[Sentence]) -> LabelMap:
    """The map covering the union of tags over these sentences (e.g. all chosen languages)."""
    return cls.from_tags(tag for sentence in sentences for tag in sentence.tags)

  def __len__(self) -> int:
    return len(self.tags)

  def __eq__(self, other: object) -> bool:
    return isinstance(other, LabelMap) and self.tags == other.tags

  def __hash__(self) -> int:
    return hash(self.tags)

  def __repr__(self) -> str:
    return f"LabelMap({list(self.tags)})"

  def missing(self, tags: Iterable[str]) -> list[str]:
    """Sorted distinct tags that have no id here (e.g. a child language's types unknown to its
    parent's map)."""
    return sorted({tag for tag in tags if tag not in self._ids})

  def encode(self, tags: Sequence[str]) -> np.ndarray:
    """Tags -> int32 ids; UnknownTagError naming every unknown tag."""
    try:
      return np.fromiter((self._ids[tag] for tag in tags), dtype=np.int32, count=len(tags))
    except KeyError:
      raise UnknownTagError(f"tags {self.missing(tags)} are not in the label map "
                            f"{list(self.tags)}") from None

  def decode(self, ids: Iterable[int]) -> list[str]:
    """Ids -> tags."""
    ids = np.asarray(ids).reshape(-1).astype(np.int64).tolist()
    if ids and not 0 <= min(ids) <= max(ids) < len(self.tags):
      bad = sorted({i for i in ids if not 0 <= i < len(self.tags)})
      raise ValueError(f"ids {bad} out of range for a label map of {len(self.tags)} tags")
    return [self.tags[i] for i in ids]

  def to_json(self) -> str:
    """JSON text `{"tags": [...]}`."""
    return json.dumps({"tags": list(self.tags)})

  @classmethod
  def from_json(cls, data: str | Mapping) -> LabelMap:
    """Inverse of `to_json`; accepts the JSON text or the already-parsed object. The stored tag
    order must be the canonical one, so a hand-edited or foreign map fails loudly."""
    obj = json.loads(data) if isinstance(data, str) else data
    if not isinstance(obj, Mapping) or "tags" not in obj:
      raise errors.UserError(f"a label map is a JSON object with key 'tags', got {str(data)[:80]!r}")
    label_map = cls.from_tags(obj["tags"])
    if list(label_map.tags) != list(obj["tags"]):
      raise errors.UserError(f"stored tags {list(obj['tags'])} are not in canonical order "
                       f"{list(label_map.tags)}")
    return label_map

  def save(self, path: str | os.PathLike) -> None:
    pathlib.Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

  @classmethod
  def load(cls, path: str | os.PathLike) -> LabelMap:
    try:
      return cls.from_json(pathlib.Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
      raise errors.NotFound(f"label map {os.fspath(path)} does not exist") from e
    except ValueError as e:
      raise errors.UserError(f"{os.fspath(path)}: {e}") from e
