"""The model-kind seam: everything training, evaluation, fine-tuning, the experiment and the
analysis may know about a model, in one interface.

A kind (the byte CRF, CharNER, Byte-to-Span, ...) is one module of `polyglot_ner.kinds` defining a
`Kind` subclass. The rest of the code holds a `Kind` built from a run's config and label map, and
calls only what is below; batch keys, output sizes and decoding are the kind's own business.

The contract shared by every kind's batches: a dict of arrays, each split along its leading axis
over the devices of the data mesh (`polyglot_ner.train.step.shard_part`), holding at least
`lengths` [B] (a row's size in the kind's own units: words, bytes, ...; 0 for a row padding a last
partial batch) and `lang` [B] (the row's index in the run's language list). Training logs, the
divergence guard and the loss's mean over real rows read only those two.

The label space of every kind is the run's IOB2 `LabelMap` (its entity types, saved with the run
and inherited by a fine-tuned child); a kind derives its own outputs from it (the byte CRF: one
score per IOB2 tag; a byte tagger: one per type), and turns its predictions back into word-level
IOB2 tags, which scoring, bootstrap and prediction files share.

Optional capabilities are declared by subclassing, never found by name: a kind whose output is a
distribution over tag sequences (the byte CRF) also subclasses `StructuredOutput`, and one that can
draw tag sequences from itself and score them as gold (the true Fisher's labels) `SamplesTags`,
and one that scores the entities it predicts (`runs.Run.entities`) `ScoresEntities`.
`require` is how the runs API and the analysis ask for one.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Hashable, Protocol

import flax.linen as nn
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import ml_collections

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import pipeline
from polyglot_ner.train import programs

Batch = Mapping[str, Any]
Params = Any


class TrainData(pipeline.Plan, Protocol):
  """The plan of a run's training batches over a language mixture, reshuffled each epoch, which
  `data.pipeline.TrainIterator` serves (prefetched, resumable)."""

  num_truncated: int  # training sentences (or windows) cut to the largest bucket


class EvalData(Protocol):
  """The batches of one language's sentences (each exactly once), reusable across evaluations."""

  indices: list[Any]  # per batch, the sentence of each row (-1: a padding row)

  def __iter__(self) -> Iterator[dict[str, Any]]: ...
  def __len__(self) -> int: ...


class Kind(abc.ABC):
  """A model kind for one run: its Flax module, batches, loss, predictions and their tags.

  Built from the run's whole config (`config.model` for the module, `config.data` for batching)
  and its label map. `loss` and `predict` are pure functions of arrays: the training and predict
  steps run them inside `jax.shard_map`, the analysis under `jax.vmap(jax.grad(...))`.
  """

  module_class: type[nn.Module]  # built from `config.model` (a field per key) and `module_args`
  label_fields: tuple[str, ...] = ()  # the module's fields that `module_args` gives
  # Rows are fixed-size windows of a byte stream rather than sentences, so a long sentence needs
  # no smaller batches (`runs.Run.entities`).
  windowed: bool = False

  def __init__(self, config: ml_collections.ConfigDict, label_map: labels_lib.LabelMap):
    self.config = config
    self.label_map = label_map
    self.module = self.module_class(**self.module_args(), **self._model_fields(config.model))

  @abc.abstractmethod
  def module_args(self) -> dict[str, Any]:
    """The module's `label_fields`, which come from the label map rather than `config.model`."""

  @classmethod
  def config_fields(cls) -> tuple[str, ...]:
    """The keys `config.model` may hold: the module's fields but its `label_fields`."""
    return tuple(field.name for field in dataclasses.fields(cls.module_class)
                 if field.init and field.name not in ("parent", "name", *cls.label_fields))

  @classmethod
  def _model_fields(cls, model_config: Mapping[str, Any]) -> dict[str, Any]:
    """`config.model` as module fields; a key that is not one is a UserError naming it."""
    fields = dict(model_config.items())
    unknown = sorted(set(fields) - set(cls.config_fields()))
    if unknown:
      raise errors.UserError(f"config.model keys {unknown} are not fields of "
                             f"{cls.module_class.__name__}; its fields are {list(cls.config_fields())}")
    return fields

  # Batches.

  @abc.abstractmethod
  def train_batches(self, languages: Mapping[str, Sequence[conll.Sentence]], mixture: Any, *,
                    seed: int, num_shards: int) -> TrainData:
    """Training batches of `config.batch_size` rows over `languages` sampled by `mixture`."""

  @abc.abstractmethod
  def eval_batches(self, sentences: Sequence[conll.Sentence], *, lang: int, batch_size: int,
                   num_shards: int, fitted: bool = False) -> EvalData:
    """Every sentence once, never truncated, with its gold labels (all "O" when tagging), in
    batches of `batch_size` rows, or (`fitted`) in batches that keep to one length bucket, a
    bucket of few sentences in as few rows as hold them (`batches.EvalBatches`)."""

  @abc.abstractmethod
  def example_batch(self) -> dict[str, Any]:
    """A smallest valid batch: parameter shapes never depend on batch shapes."""

  # Pure functions of arrays.

  @abc.abstractmethod
  def loss(self, params: Params, batch: Batch, rng: jax.Array | None, *, train: bool
           ) -> tuple[jax.Array, jax.Array]:
    """(loss [B], real [B]): each row's loss (e.g. its negative log-likelihood) and its weight
    in the mean that training minimises, `sum(loss * real) / sum(real)` over the global batch:
    0 for a padding row, 1 for a sentence (a mean over sentences), or the row's number of bytes
    with `loss` its per-byte mean (a mean over bytes). `rng` drives dropout (train only)."""

  @abc.abstractmethod
  def predict(self, params: Params, batch: Batch) -> Any:
    """The model's prediction of every row: a pytree of arrays with leading axis B."""

  @property
  @abc.abstractmethod
  def row_likelihood(self) -> str:
    """In words, what a row of `eval_batches` is and what its log-likelihood (minus `loss` times
    its weight) is: the example whose gradient the analysis's Fisher squares, which its report
    names."""

  # Host side.

  @abc.abstractmethod
  def tags(self, data: EvalData, predictions: Sequence[Any]) -> list[list[str]]:
    """Word-level IOB2 tags of every sentence of `data`, in its sentences' order, from
    `predictions` (one host pytree per batch of `data`, in order)."""

  @abc.abstractmethod
  def per_sentence(self, data: EvalData, outputs: Sequence[Any], axis: int | None = 0
                   ) -> list[Any]:
    """Per-row `outputs` (one host array per batch of `data`, rows first) as one array per
    sentence of `data`, in its order, cut to the sentence's length along `axis` of a row (None:
    uncut). The runs API and the analysis use it for per-sentence outputs."""

  def notes(self, sentences: Sequence[conll.Sentence]) -> dict[str, Any]:
    """Facts about scoring these gold sentences with this kind (e.g. entities it can never
    predict), merged into each language's scores by `inference.evaluate`; none by default."""
    del sentences
    return {}

  # Shared.

  def trace_key(self) -> Hashable:
    """Everything the pure functions (`loss`, `predict`, ...) read: kinds with equal keys trace
    alike and share compiled programs (`train.programs`). A kind whose functions read more than
    its module and label map must add it."""
    return type(self), self.module, self.label_map.tags

  def init_params(self, rng: jax.Array, mesh: Mesh) -> Params:
    """Freshly initialised parameters, replicated over `mesh`."""
    init = programs.shared(("init", self.trace_key(), mesh),
                           lambda: jax.jit(self._init, out_shardings=NamedSharding(mesh, P())))
    return init(rng)

  def abstract_params(self, mesh: Mesh) -> Params:
    """The parameter tree as replicated `jax.ShapeDtypeStruct`s (a restore target, no compute),
    traced once per `trace_key` and mesh."""

    def trace() -> Params:
      shapes = jax.eval_shape(self._init, jax.random.PRNGKey(0))
      replicated = NamedSharding(mesh, P())
      return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated),
                          shapes)

    return programs.shared(("abstract_params", self.trace_key(), mesh), trace)

  def _init(self, rng: jax.Array) -> Params:
    return self.module.init({"params": rng}, self.example_batch(), train=False)["params"]


class StructuredOutput(abc.ABC):
  """A kind whose prediction is a distribution over each row's tag sequence (e.g. a CRF): its
  emission scores, exact marginals, k best sequences and samples, pure functions of arrays with
  rows first (time steps in the kind's units, tags as in the run's label map)."""

  @abc.abstractmethod
  def emissions(self, params: Params, batch: Batch) -> jax.Array:
    """Emission scores [B, T, C]."""

  @abc.abstractmethod
  def marginals(self, params: Params, batch: Batch) -> jax.Array:
    """p(tag at t = c | row) [B, T, C]."""

  @abc.abstractmethod
  def kbest(self, params: Params, batch: Batch, k: int) -> tuple[jax.Array, jax.Array]:
    """The k best tag sequences [B, k, T] and their scores [B, k]."""

  @abc.abstractmethod
  def sample(self, params: Params, batch: Batch, rng: jax.Array, num_samples: int) -> jax.Array:
    """Tag sequences [B, num_samples, T] drawn from the model."""


class SamplesTags(abc.ABC):
  """A kind that draws tag sequences from itself and puts them in a batch as its gold tags: what
  the true Fisher needs (labels sampled from the model, not the data's)."""

  @abc.abstractmethod
  def sample(self, params: Params, batch: Batch, rng: jax.Array, num_samples: int) -> jax.Array:
    """Tag sequences [B, num_samples, T] drawn from the model."""

  @abc.abstractmethod
  def with_tags(self, batch: Batch, tags: jax.Array) -> dict[str, Any]:
    """`batch` with `tags` [B, T] as its gold tags."""


class ScoresEntities(abc.ABC):
  """A kind that gives each entity it predicts the model's probability of it (its words and
  type): the `score` of `runs.Run.entities`. Each kind says in `entity_scores` what that
  probability is under its own model."""

  @abc.abstractmethod
  def predict_entities(self, params: Params, batch: Batch) -> Any:
    """What `entity_scores` needs of every row: a pytree of arrays, rows first."""

  def shared_batches(self, data: EvalData) -> list[dict[str, Any]]:
    """Batches of inputs that many of `data`'s batches (built `fitted`) read, to encode once per
    call rather than once per batch (the byte CRF: the distinct words of all its sentences):
    `encode_shared` of each, concatenated rows first, goes into every batch by `with_shared`
    before `predict_entities`. None by default."""
    del data
    return []

  def encode_shared(self, params: Params, batch: Batch) -> Any:
    """One of `shared_batches`' encodings: an array, rows first (a pure function of arrays)."""
    raise NotImplementedError(f"{type(self).__name__} has no shared batches")

  def with_shared(self, batch: dict[str, Any], encoded: Any) -> dict[str, Any]:
    """A batch of fitted `data` with what it reads of `encoded` (the concatenated encodings of
    `shared_batches`, on the host)."""
    raise NotImplementedError(f"{type(self).__name__} has no shared batches")

  @abc.abstractmethod
  def entity_scores(self, data: EvalData, outputs: Sequence[Any]
                    ) -> list[tuple[list[str], list[float]]]:
    """Per sentence of `data`, in order: its IOB2 tags, exactly those `tags` gives for
    `predict`'s outputs, and the probability of each of their entities (in `tags.spans` order),
    from `outputs` (one host pytree of `predict_entities` per batch of `data`)."""


def require(kind: Kind, capability: type, use: str) -> Any:
  """`kind` if it declares `capability`, else a UserError naming the kind, the capability and
  what needed it (`use`)."""
  if not isinstance(kind, capability):
    raise errors.UserError(f"{use} needs a model kind with {capability.__name__}, and the "
                           f"{kind.config.model_kind!r} kind does not declare it")
  return kind

