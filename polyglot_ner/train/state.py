"""The training state (what a checkpoint's "state" item holds) and the optimiser that updates it.

The learning-rate schedule spans the run's real length (`total_steps`: `max_steps`, else epochs x
steps per epoch).
The paper's code decayed the cosine to zero at step 1000 whatever the run's length; we do not.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import optax

from polyglot_ner import errors


@flax.struct.dataclass
class TrainState:
  """Everything that changes during training; a plain pytree of arrays."""

  step: jax.Array
  params: Any
  opt_state: Any
  rng: jax.Array


def make_schedule(config: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
  """The learning rate as a function of the step, from `config.optimizer`."""
  lr = config.learning_rate
  if config.schedule == "constant":
    return optax.constant_schedule(lr)
  if config.schedule == "cosine":
    warmup = min(config.warmup_steps, max(total_steps - 1, 0))
    return optax.warmup_cosine_decay_schedule(
        init_value=lr if warmup == 0 else 0.0, peak_value=lr, warmup_steps=warmup,
        decay_steps=max(total_steps, 1), end_value=lr * config.final_lr_fraction)
  raise errors.UserError(f"config.optimizer.schedule: unknown schedule {config.schedule!r} "
                         "(expected 'cosine' or 'constant')")


def make_optimizer(config: ml_collections.ConfigDict, total_steps: int
                   ) -> optax.GradientTransformation:
  """Global-norm clipping (when `grad_clip_norm` > 0) followed by `config.name` on the schedule:
  "adam" (the default when the key is absent: `b1`, `b2`, `eps`) or "sgd_momentum" (TF's
  `MomentumOptimizer`, heavy-ball `momentum`, not Nesterov)."""
  name = config.get("name", "adam")
  schedule = make_schedule(config, total_steps)
  if name == "adam":
    optimizer = optax.adam(schedule, b1=config.b1, b2=config.b2, eps=config.eps)
  elif name == "sgd_momentum":
    optimizer = optax.sgd(schedule, momentum=config.momentum)
  else:
    raise errors.UserError(f"config.optimizer.name: unknown optimizer {name!r} (expected 'adam' or "
                           "'sgd_momentum')")
  if config.grad_clip_norm > 0:
    return optax.chain(optax.clip_by_global_norm(config.grad_clip_norm), optimizer)
  return optimizer


def create_train_state(params: Any, tx: optax.GradientTransformation, rng: jax.Array
                       ) -> TrainState:
  """A step-0 state around `params`; `rng` (a raw uint32 key) seeds every step's dropout."""
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                    rng=rng)


def apply_gradients(state: TrainState, grads: Any, tx: optax.GradientTransformation
                    ) -> TrainState:
  """One optimiser update."""
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  return state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                       opt_state=opt_state)
