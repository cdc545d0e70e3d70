"""A parameter tree seen as one flat vector, so rankings and masks can span every tensor at once.

The analysis ranks parameters globally (a top-k% set may take more of one tensor than another),
and reports per tensor. A `Layout` fixes one order for both: tensors by their sorted "/"-joined
paths (`polyglot_ner.train.finetune.flatten`), each raveled in C order. Two trees compare (Jaccard,
masks from another language's importance) only if their layouts are equal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from polyglot_ner import errors
from polyglot_ner.train import finetune


@dataclasses.dataclass(frozen=True)
class Layout:
  """The tensors of a parameter tree (sorted paths and shapes) laid end to end."""

  paths: tuple[str, ...]
  shapes: tuple[tuple[int, ...], ...]

  @classmethod
  def of(cls, tree: Mapping[str, Any]) -> Layout:
    """The layout of a nested parameter dict (arrays or anything with a `shape`)."""
    flat = finetune.flatten(tree)
    paths = tuple(sorted(flat))
    return cls(paths, tuple(tuple(np.shape(flat[path])) for path in paths))

  @property
  def sizes(self) -> tuple[int, ...]:
    """The number of entries of each tensor."""
    return tuple(int(np.prod(shape, dtype=np.int64)) for shape in self.shapes)

  @property
  def size(self) -> int:
    """The number of parameters of the whole tree."""
    return sum(self.sizes)

  def slices(self) -> dict[str, slice]:
    """{path: the slice of the flat vector that holds that tensor}."""
    ends = np.cumsum(self.sizes)
    return {path: slice(int(end - size), int(end))
            for path, size, end in zip(self.paths, self.sizes, ends)}

  def check(self, tree: Mapping[str, Any], what: str) -> None:
    """A UserError naming the differing tensors when `tree`'s layout is not this one."""
    other = Layout.of(tree)
    if other != self:
      diff = finetune.tree_diff(dict(zip(self.paths, self.shapes)),
                                dict(zip(other.paths, other.shapes)))
      shown = "; ".join(f"{path}: {'missing' if a is None else a} vs "
                        f"{'missing' if b is None else b}" for path, a, b in diff[:5])
      raise errors.UserError(f"{what} does not have the parameter layout of the others, so its "
                             f"parameters cannot be compared one by one ({len(diff)} tensors "
                             f"differ: {shown})")

  def vector(self, tree: Mapping[str, Any], what: str = "a parameter tree",
             dtype: Any = None) -> np.ndarray:
    """`tree` as one host vector in this layout's order (`what` names it in errors)."""
    self.check(tree, what)
    flat = finetune.flatten(tree)
    parts = [np.asarray(flat[path], dtype=dtype).ravel() for path in self.paths]
    return np.concatenate(parts) if parts else np.zeros(0, dtype)

  def tree(self, vector: np.ndarray) -> dict[str, Any]:
    """The nested parameter dict whose flat vector is `vector`."""
    vector = np.asarray(vector)
    if vector.shape != (self.size,):
      raise ValueError(f"a vector of this layout has shape ({self.size},), got {vector.shape}")
    return finetune.unflatten({path: vector[part].reshape(shape) for (path, part), shape
                               in zip(self.slices().items(), self.shapes)})
