"""The data-parallel train and decode steps: `jax.shard_map` over a 1-D "data" mesh inside `jax.jit`.

Global batches are sharded `P("data")` (each device gets B / n rows), parameters and optimiser state
are replicated. Each device computes the loss of its rows and its gradient; `lax.pmean` averages
both across devices (pmap's semantics on the current API). The model kind (`polyglot_ner.kinds`)
gives each row's loss and whether the row is real (rows of length 0 pad a last batch); the step
minimises their mean over the global batch's real rows: each device divides its sum by the mean
number of real rows per device, so the `pmean` of the per-device losses is exactly the global mean,
whatever the number of devices.

`check_vma=False` keeps pmap's semantics: `jax.grad` inside the body returns each device's own
gradient (with the checker on, the gradient of a replicated parameter would come back already
summed over devices), and the explicit `pmean` makes everything returned replicated.

Dropout keys are `fold_in(fold_in(state.rng, step), device index)` (turned into an "rbg" key, see
`make_train_step`): fresh each step, different on each shard, and reproducible from the state
alone, so a resumed run draws the same masks.
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable, Hashable, Mapping

import jax
from jax import lax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import numpy as np
import optax

from polyglot_ner import errors
from polyglot_ner.data import batches as data_batches
from polyglot_ner.kinds import base as kinds_base
from polyglot_ner.train import programs
from polyglot_ner.train import state as state_lib

AXIS = "data"
Batch = Mapping[str, Any]


def make_mesh(devices: list[jax.Device] | None = None) -> Mesh:
  """A 1-D mesh named "data" over `devices` (default: every device of every process)."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (AXIS,))


def replicate(tree: Any, mesh: Mesh) -> Any:
  """`tree` placed whole on every device of `mesh`."""
  return jax.device_put(tree, NamedSharding(mesh, P()))


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  """A global batch must split evenly over the devices; the error says how to fix it."""
  if batch_size % mesh.size:
    raise errors.UserError(f"global batch size {batch_size} is not divisible by the {mesh.size} "
                           f"devices of the mesh; use a multiple of {mesh.size} "
                           "(config.batch_size / config.eval_batch_size)")


def shard_batch(batch: Batch, mesh: Mesh) -> dict[str, jax.Array]:
  """A host batch (the same global batch on every process; rows, or any arrays that split into
  one block per device) as global arrays sharded `P("data")`.

  Every array splits along its leading axis (rows, or the per-device word tables of
  `polyglot_ner.kinds.byte_crf.batches`). Each process contributes the blocks of its own devices, so
  multi-host runs transfer only local data.
  """
  for value in batch.values():
    check_batch_size(len(value), mesh)
  part = process_part()
  return shard_part({key: np.asarray(value)[data_batches.part_rows(len(value), mesh.size, part)]
                     for key, value in batch.items()}, mesh)


def process_part() -> data_batches.Part:
  """This process's part of every batch: the rows of its devices (`data.batches.part_rows`)."""
  return jax.process_index(), jax.process_count()


def shard_part(part: Batch, mesh: Mesh) -> dict[str, jax.Array]:
  """This process's `process_part()` of a global batch (of every process's parts, all shaped
  alike) as global arrays sharded `P("data")`."""
  sharding = NamedSharding(mesh, P(AXIS))
  for value in part.values():
    check_batch_size(len(value) * jax.process_count(), mesh)
  return {key: jax.make_array_from_process_local_data(
              sharding, value, (len(value) * jax.process_count(), *np.shape(value)[1:]))
          for key, value in part.items()}


@functools.cache
def make_process_max(mesh: Mesh) -> Callable[[np.ndarray], Callable[[], np.ndarray]]:
  """`start(values)` issues the elementwise maximum of every process's int `values` (same shape)
  on the devices of `mesh` and returns a function that waits for it: the `agree` of
  `data.pipeline.TrainIterator`. Every process must start the same ones in the same order."""
  local = len(mesh.local_devices)
  maximum = jax.jit(lambda values: jnp.max(values, axis=0), out_shardings=NamedSharding(mesh, P()))

  def start(values: np.ndarray) -> Callable[[], np.ndarray]:
    rows = np.broadcast_to(np.asarray(values, np.int32), (local, len(values)))
    result = maximum(jax.make_array_from_process_local_data(
        NamedSharding(mesh, P(AXIS)), rows, (mesh.size, len(values))))
    return lambda: np.asarray(result.addressable_data(0))

  return start


@functools.cache
def make_batch_counts(mesh: Mesh, num_languages: int) -> Callable[[Batch], jax.Array]:
  """`counts(batch)` of a sharded batch, on the devices and replicated: its real rows of each
  language, then the sum of its lengths (int32 [num_languages + 1]), whichever process packed
  them."""

  def counts(lengths: jax.Array, lang: jax.Array) -> jax.Array:
    rows = jnp.zeros(num_languages, jnp.int32).at[lang].add((lengths > 0).astype(jnp.int32))
    return jnp.append(rows, jnp.sum(lengths))

  counted = jax.jit(counts, out_shardings=NamedSharding(mesh, P()))
  return lambda batch: counted(batch["lengths"], batch["lang"])


def make_train_step(kind: kinds_base.Kind, tx: optax.GradientTransformationExtraArgs, mesh: Mesh,
                    *, dropout: bool = True
                    ) -> Callable[[state_lib.TrainState, Batch, jax.typing.ArrayLike],
                                  tuple[state_lib.TrainState, dict[str, jax.Array]]]:
  """`step(state, batch, learning_rate) -> (state, {"loss", "grad_norm"})`, jitted and sharded over
  `mesh`: one update of `tx` (`state.make_optimizer`) at `learning_rate` (a float32 scalar, the
  host's `state.learning_rates`) on the mean of `kind.loss` over the global batch's real rows.

  `dropout=False` makes the loss deterministic (no dropout), e.g. to compare device counts.
  The input state is donated. Runs of equal kinds (`Kind.trace_key`) with the same `tx` (object:
  `state.make_optimizer` returns one per optimiser) share the program.
  """
  return programs.shared(("train", kind.trace_key(), tx, mesh, dropout),
                         lambda: _train_step(kind, tx, mesh, dropout))


def _train_step(kind: kinds_base.Kind, tx: optax.GradientTransformationExtraArgs, mesh: Mesh,
                dropout: bool) -> Callable[..., Any]:

  def per_device(state: state_lib.TrainState, batch: Batch, learning_rate: jax.Array):
    rng = jax.random.fold_in(jax.random.fold_in(state.rng, state.step), lax.axis_index(AXIS))
    # Dropout masks from XLA's RngBitGenerator rather than threefry: the step compiles in half
    # the time (threefry's hash is unrolled into every mask), and the masks stay a pure function
    # of (state.rng, step, device).
    rng = jax.random.wrap_key_data(jax.random.bits(rng, (4,), jnp.uint32), impl="rbg")

    def loss_fn(params):
      losses, real = kind.loss(params, batch, rng, train=dropout)
      real = real.astype(jnp.float32)
      mean_real_rows = jnp.maximum(lax.pmean(jnp.sum(real), AXIS), 1e-9)
      return jnp.sum(losses * real) / mean_real_rows

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    loss, grads = lax.pmean((loss, grads), AXIS)
    new_state = state_lib.apply_gradients(state, grads, tx, learning_rate)
    return new_state, {"loss": loss, "grad_norm": optax.tree.norm(grads)}

  sharded = jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(AXIS), P()),
                          out_specs=(P(), P()), check_vma=False)
  return jax.jit(sharded, donate_argnums=0)


def make_predict_step(predict: Callable[..., Any], mesh: Mesh) -> Callable[..., Any]:
  """`predict(params, batch, *args)` (a pure per-row function such as `Kind.predict`: a pytree
  with leading axis B) jitted and sharded over `mesh`; `args` are replicated. A kind's method, or
  a module function partially applied to a kind, shares its program with equal kinds'."""
  key = function_key(predict)
  if key is None:
    return _predict_step(predict, mesh)
  return programs.shared(("predict", key, mesh), lambda: _predict_step(predict, mesh))


def function_key(function: Callable[..., Any]) -> Hashable | None:
  """What a kind's `function` traces: `kind.method` or `partial(f, kind)` by the kind's
  `trace_key`; None for any other function (its closure may read anything)."""
  if isinstance(function, types.MethodType) and isinstance(function.__self__, kinds_base.Kind):
    return function.__func__, function.__self__.trace_key()
  if (isinstance(function, functools.partial) and not function.keywords
      and len(function.args) == 1 and isinstance(function.args[0], kinds_base.Kind)):
    return function.func, function.args[0].trace_key()
  return None


def _predict_step(predict: Callable[..., Any], mesh: Mesh) -> Callable[..., Any]:

  def per_device(params: Any, batch: Batch, *args: Any) -> Any:
    return predict(params, batch, *args)

  def step(params: Any, batch: Batch, *args: Any) -> Any:
    sharded = jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(AXIS)) + (P(),) * len(args),
                            out_specs=P(AXIS), check_vma=False)
    return sharded(params, batch, *args)

  return jax.jit(step)
