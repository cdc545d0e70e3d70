"""Fine-tuning: a run that starts from another run's checkpoint (its parent), and frozen subtrees.

`config.init_from` names the parent: a workdir (its best checkpoint) or a checkpoint path
(`W/checkpoints/best/1234`, `W/checkpoints/latest`). A fresh child (no checkpoint of its own yet)
restores only the parent's parameters (an Orbax partial restore) into a fresh initialisation with a
fresh optimiser state and schedule at step 0; once the child has saved a checkpoint, resuming it
never looks at the parent again.

Parameters are named by their "/"-joined paths (`crf/transitions`, `output/kernel`,
`word_encoder/...`), and `config.dont_load` / `config.freeze` are regexes searched in those paths
(`re.search`, so anchor with `^`). A regex that matches no parameter is an error (a typo would
otherwise change nothing).

* `dont_load`: matching parameters keep their fresh initialisation (the child's seed). Any other
  difference between the parent's and the child's trees (a path on one side only, another shape)
  is an error with a table of the paths and both shapes.
* Label map: the child keeps its parent's (same tag ids, so `output` and `crf` carry over). Tags in
  the child's training data that the parent lacks are an error naming them, unless every
  parameter whose shape depends on the number of tags is in `dont_load` (`^crf/`, `^output/` for
  the byte CRF): then the child's map covers the parent's entity types plus the new ones (the
  canonical `LabelMap` order, so ids of the parent's tags may move; those parameters are fresh).
* `freeze`: matching parameters get zero updates (`optax.multi_transform` with `set_to_zero`;
  they carry no Adam moments, and gradient clipping sees only the trained parameters).

The child's checkpoints record the parent (`meta["parent"]`: absolute workdir and checkpoint
path, step, languages, dev scores, and the parent's own parent), so `polyglot-ner lineage` can
print the whole chain from the child alone.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

from etils import epath
from flax import traverse_util
import optax

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import programs

Shapes = Mapping[str, tuple[int, ...]]  # "/"-joined parameter path -> shape


def flatten(tree: Mapping[str, Any]) -> dict[str, Any]:
  """A nested parameter dict as {"a/b/c": leaf}."""
  return traverse_util.flatten_dict(tree, sep="/")


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
  """Inverse of `flatten`."""
  return traverse_util.unflatten_dict(dict(flat), sep="/")


def shapes(tree: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
  """{path: shape} of a parameter tree (arrays or `jax.ShapeDtypeStruct`s)."""
  return {path: tuple(leaf.shape) for path, leaf in flatten(tree).items()}


def _compile(key: str, patterns: Iterable[str]) -> list[re.Pattern]:
  compiled = []
  for pattern in patterns:
    try:
      compiled.append(re.compile(pattern))
    except re.error as e:
      raise errors.UserError(f"{key}: {pattern!r} is not a regex: {e}") from None
  return compiled


def matching(paths: Iterable[str], patterns: Sequence[str], key: str) -> set[str]:
  """The paths that one of `patterns` (config field `key`) searches successfully; a pattern that
  matches none of them is an error listing the parameters' top-level names."""
  paths = sorted(set(paths))
  compiled = _compile(key, patterns)
  unused = [p.pattern for p in compiled if not any(p.search(path) for path in paths)]
  if unused:
    tops = sorted({path.split("/")[0] for path in paths})
    raise errors.UserError(f"{key}: {unused} match no parameter; parameter paths are '/'-joined "
                           f"and start with one of {tops} (e.g. {paths[0]!r})")
  return {path for path in paths if any(p.search(path) for p in compiled)}


def dont_load_suggestion(paths: Iterable[str]) -> str:
  """A `--config.dont_load=...` flag that re-initialises the top-level subtrees of `paths`."""
  prefixes = tuple(f"^{top}/" for top in sorted({path.split("/")[0] for path in paths}))
  return f'--config.dont_load="{prefixes!r}"'


def tree_diff(parent: Shapes, child: Shapes) -> list[tuple[str, tuple | None, tuple | None]]:
  """(path, parent shape, child shape) for every path whose shape differs (None: absent)."""
  return [(path, parent.get(path), child.get(path)) for path in sorted(set(parent) | set(child))
          if parent.get(path) != child.get(path)]


def format_diff(rows: Sequence[tuple[str, tuple | None, tuple | None]]) -> str:
  """`tree_diff` rows as an aligned table: path, parent shape, child shape."""
  text = [(path, "missing" if a is None else str(a), "missing" if b is None else str(b))
          for path, a, b in rows]
  widths = [max(len(row[i]) for row in [("path", "parent", "child"), *text]) for i in range(3)]
  return "\n".join(f"  {path:<{widths[0]}}  {a:<{widths[1]}}  {b}"
                   for path, a, b in [("path", "parent", "child"), *text])


@dataclasses.dataclass(frozen=True)
class Parent:
  """The checkpoint a fine-tuned run starts from, with its meta."""

  workdir: epath.Path  # absolute
  slot: str
  step: int
  meta: dict[str, Any]

  @classmethod
  def load(cls, init_from: str | os.PathLike) -> Parent:
    """The parent named by `config.init_from` (a workdir or a checkpoint path)."""
    try:
      workdir, slot, step = checkpoint_lib.locate(init_from)
    except errors.NotFound as e:
      raise errors.NotFound(f"config.init_from: {e}") from None
    directory = checkpoint_lib.checkpoint_dir(workdir, slot)
    with checkpoint_lib.Checkpoints(workdir, read_only=True) as checkpoints:
      saved = checkpoints.steps(slot)
      if not saved:
        raise errors.NotFound(f"config.init_from: no {slot} checkpoint in {directory} (has the "
                              "parent run reached its first evaluation?)")
      if step is not None and step not in saved:
        raise errors.NotFound(f"config.init_from: {directory} holds step(s) {saved}, not {step}")
      step = saved[0] if step is None else step
      return cls(workdir, slot, step, checkpoints.meta(slot, step))

  @property
  def checkpoint(self) -> epath.Path:
    """The directory of the parent's checkpoint."""
    return checkpoint_lib.checkpoint_dir(self.workdir, self.slot) / str(self.step)

  @property
  def label_map(self) -> labels_lib.LabelMap:
    return labels_lib.LabelMap.from_json(self.meta["label_map"])

  def record(self) -> dict[str, Any]:
    """What the child's meta keeps of its parent (the chain of ancestors included)."""
    return {"workdir": os.fspath(self.workdir), "checkpoint": os.fspath(self.checkpoint),
            "slot": self.slot, "step": self.step, "languages": self.meta["languages"],
            "dev_scores": self.meta["dev_scores"], "parent": self.meta.get("parent")}

  def params_shapes(self) -> dict[str, tuple[int, ...]]:
    """{path: shape} of the parent's stored parameters (from the checkpoint's metadata)."""
    with checkpoint_lib.Checkpoints(self.workdir, read_only=True) as checkpoints:
      return shapes(checkpoints.params_shapes(self.slot, self.step))

  def restore_params(self, target: Any) -> Any:
    """The parent's parameters at the paths of `target` (a subtree of theirs), placed like it."""
    with checkpoint_lib.Checkpoints(self.workdir, read_only=True) as checkpoints:
      return checkpoints.restore_params(self.slot, target, self.step)


def child_label_map(parent: Parent, train: Mapping[str, Sequence[conll.Sentence]],
                    dont_load: Sequence[str],
                    shapes_for: Callable[[labels_lib.LabelMap], Shapes]
                    ) -> labels_lib.LabelMap:
  """The child's label map: its parent's, or (tags new to the parent, with every tag-dependent
  parameter in `dont_load`) the parent's types plus the new ones. `shapes_for(label_map)` gives the
  child model's parameter shapes with that label map."""
  inherited = parent.label_map
  new = {name: inherited.missing(tag for s in sentences for tag in s.tags)
         for name, sentences in train.items()}
  new = {name: tags for name, tags in new.items() if tags}
  if not new:
    return inherited
  union = labels_lib.LabelMap(set(inherited.types) | {tag[2:] for tags in new.values()
                                                      for tag in tags})
  before, after = shapes_for(inherited), shapes_for(union)
  dependent = sorted(path for path in after if before.get(path) != after[path])
  compiled = _compile("config.dont_load", dont_load)
  loaded = [path for path in dependent if not any(p.search(path) for p in compiled)]
  if loaded:
    details = "; ".join(f"{name}: {tags}" for name, tags in new.items())
    raise errors.UserError(
        f"training tags unknown to the parent's label map {list(inherited.tags)} "
        f"({parent.checkpoint}): {details}. A fine-tuned run keeps its parent's tag ids; to train "
        f"on new tags, re-initialise the parameters that depend on the tag set ({loaded}): "
        f"{dont_load_suggestion(dependent)}")
  return union


def load_params(parent: Parent, fresh: Any, dont_load: Sequence[str]) -> Any:
  """`fresh` (the child's initial parameters) with every leaf that `dont_load` does not match
  replaced by the parent's (an Orbax partial restore of the parameters only). Trees that differ
  outside `dont_load` are a UserError with the table of differences."""
  fresh_flat = flatten(fresh)
  stored = parent.params_shapes()
  reset = matching(set(fresh_flat) | set(stored), dont_load, "config.dont_load") if dont_load \
      else set()
  diff = tree_diff({path: shape for path, shape in stored.items() if path not in reset},
                   {path: tuple(x.shape) for path, x in fresh_flat.items() if path not in reset})
  if diff:
    raise errors.UserError(
        f"config.init_from: the parameters of {parent.checkpoint} do not fit this run's model "
        f"({len(diff)} difference(s), parent vs child):\n{format_diff(diff)}\n"
        "Re-initialise the differing subtrees with config.dont_load (regexes over these paths), "
        f"e.g. {dont_load_suggestion(path for path, _, _ in diff)}, or make config.model match "
        "the parent's.")
  target = {path: x for path, x in fresh_flat.items() if path not in reset}
  if not target:
    return fresh
  return unflatten({**fresh_flat, **flatten(parent.restore_params(unflatten(target)))})


def freeze(tx: optax.GradientTransformationExtraArgs, patterns: Sequence[str], params: Any
           ) -> optax.GradientTransformationExtraArgs:
  """`tx` for the parameters that `patterns` (config.freeze) do not match; zero updates for the
  ones they match. `tx` itself when `patterns` is empty."""
  if not patterns:
    return tx
  flat = flatten(params)
  frozen = matching(flat, patterns, "config.freeze")
  labels = {path: "frozen" if path in frozen else "trained" for path in flat}
  # One object per (tx, labels), so that equal fine-tunes share a train step (`train.programs`).
  return programs.shared(
      ("freeze", tx, tuple(sorted(labels.items()))),
      lambda: optax.multi_transform({"trained": tx, "frozen": optax.set_to_zero()},
                                    unflatten(labels)))
