"""Running a model over sentences: sharded Viterbi decoding, per-language scoring, trained runs.

Shared by the training loop (dev and test evaluation), `polyglot-ner evaluate` and `polyglot-ner
predict`. Gold tags never reach the model: sentences are packed with all-"O" tags, so a gold tag
the label map lacks (a type absent from the training data, or a file with no tags) is scored as
gold, never encoded.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import ml_collections
import numpy as np

from polyglot_ner.data import batching
from polyglot_ner.data import conll
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.eval import conlleval
from polyglot_ner.models import registry
from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import step as step_lib


def example_batch(batch_size: int = 1) -> dict[str, np.ndarray]:
  """A minimal batch (one word of one byte per row); parameter shapes do not depend on T or W."""
  return {"word_bytes": np.ones((1, 1), np.int32),
          "word_byte_lengths": np.ones((1,), np.int32),
          "pack_offsets": np.zeros((1,), np.int32),
          "pack_lengths": np.ones((1,), np.int32),
          "word_ids": np.zeros((batch_size, 1), np.int32),
          "lengths": np.ones((batch_size,), np.int32),
          "tags": np.zeros((batch_size, 1), np.int32),
          "lang": np.zeros((batch_size,), np.int32)}


def init_params(model: nn.Module, rng: jax.Array, mesh: Mesh) -> Any:
  """Freshly initialised parameters, replicated over `mesh`."""
  init = jax.jit(lambda key: model.init({"params": key}, example_batch(), train=False)["params"],
                 out_shardings=NamedSharding(mesh, P()))
  return init(rng)


def abstract_params(model: nn.Module, mesh: Mesh) -> Any:
  """The parameter tree as replicated `jax.ShapeDtypeStruct`s (a restore target, no compute)."""
  shapes = jax.eval_shape(
      lambda: model.init({"params": jax.random.PRNGKey(0)}, example_batch(), train=False)["params"])
  replicated = NamedSharding(mesh, P())
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated), shapes)


class Tagger:
  """Tags sentences with a model's Viterbi decoding, sharded over a mesh."""

  def __init__(self, model: nn.Module, mesh: Mesh, label_map: labels_lib.LabelMap,
               data_config: ml_collections.ConfigDict, batch_size: int):
    step_lib.check_batch_size(batch_size, mesh)
    self.mesh = mesh
    self.label_map = label_map
    self.batch_size = batch_size
    self._data_config = data_config
    self._decode = step_lib.make_decode_step(model, mesh)

  def batches(self, sentences: Sequence[conll.Sentence], lang: int = 0) -> batching.EvalBatches:
    """The sentences packed once for tagging (reusable across evaluations)."""
    untagged = [conll.Sentence(s.tokens, ("O",) * len(s)) for s in sentences]
    return batching.EvalBatches(
        untagged, self.label_map, batch_size=self.batch_size, lang=lang,
        length_buckets=self._data_config.length_buckets,
        byte_buckets=self._data_config.byte_buckets,
        max_word_bytes=self._data_config.max_word_bytes, num_shards=self.mesh.size)

  def tag(self, params: Any, batches: batching.EvalBatches) -> list[list[str]]:
    """Predicted tags of every sentence of `batches`, in the sentences' order."""
    lengths = batches.packed.lengths
    predictions: list[list[str] | None] = [None] * len(lengths)
    for batch, indices in batches:
      tags = self._decode(params, step_lib.shard_batch(batch, self.mesh))
      tags = (multihost_utils.process_allgather(tags, tiled=True) if jax.process_count() > 1
              else np.asarray(tags))
      for row, index in enumerate(indices):
        if index >= 0:
          predictions[index] = self.label_map.decode(tags[row, :lengths[index]])
    return predictions


@dataclasses.dataclass
class EvalSet:
  """One language's sentences of a split, packed for a `Tagger`."""

  sentences: list[conll.Sentence]
  batches: batching.EvalBatches


def eval_sets(tagger: Tagger, languages: Mapping[str, Sequence[conll.Sentence]],
              order: Sequence[str]) -> dict[str, EvalSet]:
  """Packs each language's sentences; `lang` ids follow the run's language list `order`."""
  return {name: EvalSet(list(sentences), tagger.batches(sentences, lang=order.index(name)))
          for name, sentences in languages.items()}


def evaluate(tagger: Tagger, params: Any, sets: Mapping[str, EvalSet]
             ) -> tuple[dict, dict[str, list[list[str]]]]:
  """conlleval scores (`conlleval.score_languages`) and the predicted tags of every language."""
  predictions = {name: tagger.tag(params, s.batches) for name, s in sets.items()}
  scores = conlleval.score_languages(
      {name: ([list(x.tags) for x in s.sentences], predictions[name]) for name, s in sets.items()})
  return scores, predictions


@dataclasses.dataclass
class TrainedRun:
  """A finished (or running) training run, loaded from its workdir for evaluation."""

  workdir: str
  kind: str
  config: ml_collections.ConfigDict
  meta: dict[str, Any]
  label_map: labels_lib.LabelMap
  model: nn.Module
  params: Any
  mesh: Mesh

  @classmethod
  def load(cls, workdir: str | os.PathLike, kind: str = checkpoint_lib.BEST) -> TrainedRun:
    """The config, label map, model and `kind` checkpoint's parameters of a run (a relative or
    `gs://` workdir works). A missing or damaged checkpoint is a `UserError` naming it."""
    with checkpoint_lib.Checkpoints(workdir, read_only=True) as checkpoints:
      meta = checkpoints.meta(kind)
      config = ml_collections.ConfigDict(meta["config"])
      label_map = labels_lib.LabelMap.from_json(meta["label_map"])
      model = registry.get_model(meta["model_kind"], config.model, len(label_map))
      mesh = step_lib.make_mesh()
      params = checkpoints.restore_params(kind, abstract_params(model, mesh))
    return cls(os.fspath(workdir), kind, config, meta, label_map, model, params, mesh)

  def tagger(self, batch_size: int | None = None) -> Tagger:
    """A tagger with the run's bucketing; the batch size defaults to the run's eval batch size."""
    return Tagger(self.model, self.mesh, self.label_map, self.config.data,
                  batch_size or self.config.eval_batch_size)
