"""Model kinds by name: `config.model_kind` -> the module defining its `Kind` (see `base`).

A name in `KINDS` is one of ours; any other dotted name is imported as a module, so a kind can
live outside this package (`config.model_kind = "my_project.my_kind"`) without a registry edit.
Modules are imported on first use: a run imports only its own kind.
"""

from __future__ import annotations

import importlib

import ml_collections

from polyglot_ner import errors
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.kinds import base

KINDS = {
    "bts": "polyglot_ner.kinds.bts",
    "byte_crf": "polyglot_ner.kinds.byte_crf",
    "charner": "polyglot_ner.kinds.charner",
}


def kind_class(name: str) -> type[base.Kind]:
  """The `Kind` class of model kind `name`."""
  module_name = KINDS.get(name, name if "." in name else None)
  if module_name is None:
    raise errors.UserError(f"config.model_kind: unknown model kind {name!r}; known kinds: "
                           f"{', '.join(sorted(KINDS))} (or a module path defining a Kind)")
  try:
    module = importlib.import_module(module_name)
  except ModuleNotFoundError as e:
    raise errors.UserError(f"config.model_kind: cannot import {module_name!r}: {e}") from None
  kind = getattr(module, "Kind", None)
  if not (isinstance(kind, type) and issubclass(kind, base.Kind)):
    raise errors.UserError(f"config.model_kind: {module_name} defines no `Kind` subclass of "
                           "polyglot_ner.kinds.base.Kind")
  return kind


def build(config: ml_collections.ConfigDict, label_map: labels_lib.LabelMap) -> base.Kind:
  """The run's kind: `config.model_kind` built with its config and label map."""
  return kind_class(config.model_kind)(config, label_map)
