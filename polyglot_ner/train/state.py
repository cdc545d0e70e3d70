"""The training state (what a checkpoint's "state" item holds) and the optimiser that updates it.

The learning-rate schedule spans the run's real length (`total_steps`: `max_steps`, else epochs x
steps per epoch).
The paper's code decayed the cosine to zero at step 1000 whatever the run's length; we do not.
The host evaluates the schedule (`learning_rates`) and gives every update its rate, so the compiled
train step holds no schedule: runs that differ only in their rate, schedule or length share one
program (and the persistent compilation cache).
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from polyglot_ner import errors
from polyglot_ner.train import programs


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


def learning_rates(config: ml_collections.ConfigDict, total_steps: int) -> np.ndarray:
  """The rate of every update of the run (float32 [total_steps]; update s turns step s into s + 1),
  computed once: a schedule evaluated at every step would run on the device behind the train step
  and make the host wait for it."""
  schedule = jax.vmap(make_schedule(config, total_steps))
  return np.asarray(jax.jit(schedule)(np.arange(total_steps, dtype=np.int32)), np.float32)


# The keys of `config.optimizer` that set the rate, which `learning_rates` reads and the step takes.
RATE_KEYS = ("learning_rate", "schedule", "warmup_steps", "final_lr_fraction")


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformationExtraArgs:
  """Global-norm clipping (when `grad_clip_norm` > 0) followed by `config.name`: "adam" (the default
  when the key is absent: `b1`, `b2`, `eps`) or "sgd_momentum" (TF's `MomentumOptimizer`,
  heavy-ball `momentum`, not Nesterov).

  `update(..., learning_rate=rate)` takes the update's rate (`learning_rates`), an input of the
  train step. The state is optax's for the optimiser on a schedule (its `ScaleByScheduleState`
  counts the updates, as `TrainState.step` does), so checkpoints keep their layout. Configs equal
  but for `RATE_KEYS` get the same object, so their runs share a train step (`train.programs`).
  """
  settings = {key: value for key, value in config.items() if key not in RATE_KEYS}
  return programs.shared(("optimizer", tuple(sorted(settings.items()))),
                         lambda: _optimizer(settings))


def _optimizer(settings: dict[str, Any]) -> optax.GradientTransformationExtraArgs:
  name = settings.get("name", "adam")

  def at_rate(learning_rate: jax.typing.ArrayLike) -> optax.GradientTransformation:
    schedule = lambda count: learning_rate  # a schedule, not a number: the state keeps its count
    if name == "adam":
      optimizer = optax.adam(schedule, b1=settings["b1"], b2=settings["b2"], eps=settings["eps"])
    elif name == "sgd_momentum":
      optimizer = optax.sgd(schedule, momentum=settings["momentum"])
    else:
      raise errors.UserError(f"config.optimizer.name: unknown optimizer {name!r} (expected 'adam' "
                             "or 'sgd_momentum')")
    if settings["grad_clip_norm"] > 0:
      return optax.chain(optax.clip_by_global_norm(settings["grad_clip_norm"]), optimizer)
    return optimizer

  def update(updates: optax.Updates, state: optax.OptState, params: optax.Params | None = None, *,
             learning_rate: jax.typing.ArrayLike) -> tuple[optax.Updates, optax.OptState]:
    return at_rate(learning_rate).update(updates, state, params)

  return optax.GradientTransformationExtraArgs(at_rate(0.0).init, update)


def create_train_state(params: Any, tx: optax.GradientTransformationExtraArgs, rng: jax.Array
                       ) -> TrainState:
  """A step-0 state around `params`; `rng` (a raw uint32 key) seeds every step's dropout."""
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                    rng=rng)


def apply_gradients(state: TrainState, grads: Any, tx: optax.GradientTransformationExtraArgs,
                    learning_rate: jax.typing.ArrayLike) -> TrainState:
  """One optimiser update at `learning_rate` (`make_optimizer`)."""
  updates, opt_state = tx.update(grads, state.opt_state, state.params,
                                 learning_rate=learning_rate)
  return state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                       opt_state=opt_state)
