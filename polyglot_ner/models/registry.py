"""Model kinds by name: the one place that turns a config's model section into a Flax module."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import flax.linen as nn

from polyglot_ner.models import byte_crf

MODELS: dict[str, type[nn.Module]] = {
    "byte_crf": byte_crf.ByteCRF,
}


def model_fields(kind: str) -> tuple[str, ...]:
  """The config fields a model kind accepts (everything but `labels`)."""
  return tuple(field.name for field in dataclasses.fields(_model_class(kind))
               if field.init and field.name not in ("labels", "parent", "name"))


def _model_class(kind: str) -> type[nn.Module]:
  if kind not in MODELS:
    raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(sorted(MODELS))}")
  return MODELS[kind]


def get_model(kind: str, config: Mapping[str, Any], labels: Sequence[str]) -> nn.Module:
  """Builds model `kind` over the run's IOB2 `labels` (`LabelMap.tags`, one output each) from its
  config section (field name -> value).

  A key that is not a field of the model is an error naming it; missing keys keep the defaults.
  """
  fields = dict(config.items())
  unknown = sorted(set(fields) - set(model_fields(kind)))
  if unknown:
    raise ValueError(f"model config keys {unknown} are not fields of {kind!r}; "
                     f"its fields are {list(model_fields(kind))}")
  return _model_class(kind)(labels=tuple(labels), **fields)
