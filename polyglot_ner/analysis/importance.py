"""How much each parameter matters to one language: diagonal Fisher, Taylor and magnitude scores.

The only piece of the paper's analysis its released code pins down is the diagonal empirical
Fisher of each language: per-example gradients of the gold log-likelihood, squared and averaged
over that language's data (research-notes §6). It is the default here. The variants:

  fisher       mean_x (d log p(y_gold | x) / d theta)^2                 the empirical Fisher
  true_fisher  mean_x E_{y ~ p(.|x)} (d log p(y | x) / d theta)^2      labels sampled from the
               model itself (`num_samples` draws per example, averaged)
  taylor       |theta * mean_x g(x)|   first-order Taylor estimate of how much zeroing a
               parameter changes the language's mean loss (what pruning then measures)
  taylor_abs   mean_x |theta * g(x)|   the same per example before averaging: no cancellation
               between examples, so it stays informative where the mean gradient is near zero
  magnitude    |theta|                 the data-free baseline

A model enters as `Model(params, example_loss, sample_labels)`, whatever its kind:
`example_loss(params, example, rng)` is the negative gold log-likelihood of ONE example (a pytree);
`sample_labels(params, example, rng)` is that example with its gold labels replaced by labels drawn
from the model (only the true Fisher needs it). Data comes as chunks: pytrees whose leaves share a
leading axis of examples. A chunk's per-example gradients (`jax.vmap(jax.grad(example_loss))`)
live in memory at once, so the chunk size bounds memory: a chunk of n examples needs about
n / devices times the parameters' size per device.

Chunks are sharded over the 1-D "data" mesh like training batches (`polyglot_ner.train.step`), each
device sums its rows and `lax.psum` adds the sums; parameters are replicated. A chunk is padded to
a multiple of the device count (and to the largest chunk seen, so a short last chunk does not
compile again) with rows of weight 0. Example i (counted from 0 over the whole pass) draws its
randomness from `fold_in(rng, i)`, so results do not depend on the chunking or the device count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
from jax import lax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import numpy as np
import tqdm

from polyglot_ner import errors
from polyglot_ner.train import programs
from polyglot_ner.train import step as step_lib

METHODS = ("fisher", "true_fisher", "taylor", "taylor_abs", "magnitude")
DEFAULT_METHOD = "fisher"

Params = Any
Example = Any
ExampleLoss = Callable[[Params, Example, jax.Array], jax.Array]
SampleLabels = Callable[[Params, Example, jax.Array], Example]
Importance = dict[str, Any]  # a parameter tree of float32 host arrays

# The per-example sums each method reads (over real rows; the mean divides by their number).
_SUMS = {"fisher": "squares", "true_fisher": "sampled_squares", "taylor": "gradients",
         "taylor_abs": "abs_taylor"}


@dataclasses.dataclass(frozen=True)
class Model:
  """What the importance of a model's parameters needs: its parameters and per-example functions."""

  params: Params
  example_loss: ExampleLoss
  sample_labels: SampleLabels | None = None


def check_methods(methods: Sequence[str], model: Model | None = None) -> tuple[str, ...]:
  """`methods` as a tuple, or a UserError for an unknown one (or a true Fisher without sampler)."""
  methods = tuple(methods)
  unknown = [m for m in methods if m not in METHODS]
  if unknown or not methods:
    raise errors.UserError(f"importance methods {unknown or '[]'} are not among {list(METHODS)}")
  if model is not None and "true_fisher" in methods and model.sample_labels is None:
    raise errors.UserError("the true Fisher needs labels sampled from the model, and this model "
                           "kind gives no sampler (use fisher, taylor, taylor_abs or magnitude)")
  return methods


def _weighted_sum(weight: jax.Array, tree: Any) -> Any:
  """sum_n weight[n] * leaf[n] of every leaf: [n, ...] -> [...]."""
  return jax.tree.map(lambda leaf: jnp.tensordot(weight, leaf.astype(jnp.float32), axes=1), tree)


class Estimator:
  """Computes importance scores of one model on chunks of examples, compiled once for all chunks.

  `estimator(chunks, rng)` runs one pass over `chunks` and returns {method: importance tree};
  calling it again (another language's data) reuses the compiled program. A chunk is padded to
  the largest chunk seen so far, or to `chunk_rows` from the start (a short first chunk then
  does not compile a program of its own).
  """

  def __init__(self, model: Model, methods: Sequence[str] = (DEFAULT_METHOD,), *,
               num_samples: int = 1, mesh: Mesh | None = None, chunk_rows: int = 0):
    self.model = model
    self.methods = check_methods(methods, model)
    if num_samples < 1:
      raise errors.UserError(f"the true Fisher needs at least one sample per example, got "
                             f"num_samples={num_samples}")
    self.num_samples = num_samples
    self.mesh = step_lib.make_mesh() if mesh is None else mesh
    self._sums = tuple(sorted({_SUMS[m] for m in self.methods if m in _SUMS}))
    self._params = step_lib.replicate(model.params, self.mesh)
    self._rows = -(-chunk_rows // self.mesh.size) * self.mesh.size  # the padded chunk size
    self._step = self._make_step() if self._sums else None

  def _make_step(self) -> Callable[..., dict[str, Any]]:
    """`step(sums, params, chunk, index, rng) -> sums`: the chunk's sums added, jitted, sharded;
    one program for the estimators of equal kinds' functions (`train.step.function_key`)."""
    functions = [self.model.example_loss]
    if "sampled_squares" in self._sums:
      functions.append(self.model.sample_labels)
    keys = tuple(step_lib.function_key(function) for function in functions)
    if None in keys:
      return self._build_step()
    return programs.shared(("importance", keys, self._sums, self.num_samples, self.mesh),
                           self._build_step)

  def _build_step(self) -> Callable[..., dict[str, Any]]:
    grad = jax.vmap(jax.grad(self.model.example_loss), in_axes=(None, 0, 0))
    names, num_samples = self._sums, self.num_samples

    def per_device(sums, params, chunk, index, rng):
      def fold(keys, value):  # one key per example, each folded with `value`
        return jax.vmap(lambda key: jax.random.fold_in(key, value))(keys)

      weight = (index >= 0).astype(jnp.float32)
      keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(jnp.maximum(index, 0))
      added = {}
      if {"squares", "gradients", "abs_taylor"} & set(names):
        grads = grad(params, chunk, fold(keys, 0))
        if "squares" in names:
          added["squares"] = _weighted_sum(weight, jax.tree.map(jnp.square, grads))
        if "gradients" in names:
          added["gradients"] = _weighted_sum(weight, grads)
        if "abs_taylor" in names:
          added["abs_taylor"] = _weighted_sum(
              weight, jax.tree.map(lambda g, p: jnp.abs(g * p), grads, params))
      if "sampled_squares" in names:
        sample = jax.vmap(self.model.sample_labels, in_axes=(None, 0, 0))

        def one_sample(total, s):
          sampled = sample(params, chunk, fold(fold(keys, 1), s))
          grads = grad(params, sampled, fold(fold(keys, 2), s))
          squares = _weighted_sum(weight / num_samples, jax.tree.map(jnp.square, grads))
          return jax.tree.map(jnp.add, total, squares), None

        zeros = jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32), params)
        added["sampled_squares"], _ = lax.scan(one_sample, zeros, jnp.arange(num_samples))
      added = lax.psum(added, step_lib.AXIS)
      return jax.tree.map(jnp.add, sums, added)

    data = P(step_lib.AXIS)
    sharded = jax.shard_map(per_device, mesh=self.mesh, in_specs=(P(), P(), data, data, P()),
                            out_specs=P(), check_vma=False)
    return jax.jit(sharded, donate_argnums=0)

  def _pad(self, chunk: Any, offset: int) -> tuple[Any, np.ndarray, int]:
    """The chunk padded to the compiled size (weight-0 copies of its first row), the global index
    of each row (-1 for padding) and its number of real rows."""
    leaves = jax.tree.leaves(chunk)
    sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
    if len(sizes) != 1 or None in sizes or 0 in sizes:
      raise errors.UserError("a chunk of examples must be a pytree whose leaves share a leading "
                             "axis of at least one example; got leading sizes "
                             f"{sorted(sizes, key=str)}")
    real = sizes.pop()
    devices = self.mesh.size
    self._rows = max(self._rows, -(-real // devices) * devices)
    pad = self._rows - real

    def padded(leaf):
      leaf = np.asarray(leaf)
      return np.concatenate([leaf, np.repeat(leaf[:1], pad, axis=0)]) if pad else leaf

    index = np.concatenate([np.arange(offset, offset + real), np.full(pad, -1)]).astype(np.int32)
    return jax.tree.map(padded, chunk), index, real

  def __call__(self, chunks: Iterable[Any], rng: jax.Array | None = None, *,
               progress: bool = True, total: int | None = None,
               description: str = "importance") -> dict[str, Importance]:
    """{method: importance tree (float32 host arrays shaped like the parameters)} over `chunks`.

    `rng` (default `jax.random.key(0)`) drives the sampled labels and any randomness of the loss;
    `total` (examples) sizes the progress bar.
    """
    params = jax.device_get(self.model.params)
    result = {}
    if "magnitude" in self.methods:
      result["magnitude"] = jax.tree.map(lambda p: np.abs(np.asarray(p, np.float32)), params)
    if self._step is None:
      return result
    rng = jax.random.key(0) if rng is None else rng
    sharding = NamedSharding(self.mesh, P(step_lib.AXIS))
    sums = step_lib.replicate({name: jax.tree.map(lambda p: np.zeros(np.shape(p), np.float32),
                                                  params) for name in self._sums}, self.mesh)
    count = 0
    with tqdm.tqdm(total=total, unit="ex", desc=description, disable=not progress,
                   dynamic_ncols=True) as bar:
      for chunk in chunks:
        chunk, index, real = self._pad(chunk, count)
        sums = self._step(sums, self._params, jax.device_put(chunk, sharding),
                          jax.device_put(index, sharding), rng)
        count += real
        bar.update(real)
    if not count:
      raise errors.UserError(f"{description}: no examples to estimate parameter importance on")
    means = {name: jax.tree.map(lambda s: np.asarray(s) / count, tree)
             for name, tree in jax.device_get(sums).items()}
    for method in self.methods:
      if method == "taylor":
        result[method] = jax.tree.map(lambda g, p: np.abs(g * np.asarray(p, np.float32)),
                                      means["gradients"], params)
      elif method in _SUMS:
        result[method] = means[_SUMS[method]]
    return {method: result[method] for method in self.methods}


def per_language(model: Model, data: Mapping[str, Iterable[Any]],
                 methods: Sequence[str] = (DEFAULT_METHOD,), *, num_samples: int = 1,
                 rng: jax.Array | None = None, mesh: Mesh | None = None, progress: bool = True,
                 totals: Mapping[str, int] | None = None, chunk_rows: int = 0
                 ) -> dict[str, dict[str, Importance]]:
  """{language: {method: importance tree}} of one model on each language's chunks of examples.

  Language number j (in `data`'s order) uses `fold_in(rng, j)`; one program serves them all.
  `chunk_rows` as in `Estimator`.
  """
  estimator = Estimator(model, methods, num_samples=num_samples, mesh=mesh, chunk_rows=chunk_rows)
  rng = jax.random.key(0) if rng is None else rng
  totals = totals or {}
  return {lang: estimator(chunks, jax.random.fold_in(rng, j), progress=progress,
                          total=totals.get(lang), description=f"importance {lang}")
          for j, (lang, chunks) in enumerate(data.items())}
