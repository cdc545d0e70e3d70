"""The fine-tuning recipe: what a fine-tuned child changes in the training config it would have as a
run of its own. One place, so that `polyglot_ner.study.experiment` and `launch/sweep.py` fine-tune alike.

The paper and its code do not say how the polyglot model was fine-tuned (research-notes §4.4).
Ours: all parameters, restored from the parent's best dev checkpoint (`init_from`), a fresh
optimiser at LR_FRACTION of the training learning rate (the parent's is too large a step for a
model that is already trained), the same budget and early stopping on the language's dev F1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ml_collections

LR_FRACTION = 0.5


def overrides(train: ml_collections.ConfigDict, *, num_epochs: int = 0,
              learning_rate: float = 0.0) -> dict[str, Any]:
  """The keys of a child's config that differ from `train` (its config as a run of its own).

  `num_epochs` and `learning_rate` override the recipe's values (0: the recipe's).
  """
  return {"num_epochs": num_epochs or train.num_epochs,
          "optimizer": {"learning_rate": learning_rate
                        or LR_FRACTION * train.optimizer.learning_rate}}


def as_flags(values: Mapping[str, Any], prefix: str = "--config.") -> list[str]:
  """Overrides as command-line flags: `{"optimizer": {"learning_rate": 1e-3}}` ->
  `["--config.optimizer.learning_rate=0.001"]`."""
  flags = []
  for key, value in values.items():
    if isinstance(value, Mapping):
      flags += as_flags(value, f"{prefix}{key}.")
    else:
      flags.append(f"{prefix}{key}={value!r}")
  return flags
