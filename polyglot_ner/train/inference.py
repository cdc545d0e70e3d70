"""Running a model kind over sentences: sharded predictions, word tags, per-language scoring.

Shared by the training loop (dev and test evaluation), the runs API (`polyglot_ner.runs`: evaluate,
predict, the experiment's transfer scores) and the analysis. Gold tags never reach the model:
sentences are packed with all-"O" tags, so a gold tag the label map lacks (a type absent from the
training data, or a file with no tags) is scored as gold, never encoded.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping, Sequence

import jax
from jax.experimental import multihost_utils
from jax.sharding import Mesh

from polyglot_ner.data import conll
from polyglot_ner.eval import conlleval
from polyglot_ner.kinds import base as kinds_base
from polyglot_ner.train import step as step_lib


class Tagger:
  """Tags sentences with a model kind's predictions, sharded over a mesh."""

  def __init__(self, kind: kinds_base.Kind, mesh: Mesh, batch_size: int):
    step_lib.check_batch_size(batch_size, mesh)
    self.kind = kind
    self.mesh = mesh
    self.batch_size = batch_size
    self._predict = step_lib.make_predict_step(kind.predict, mesh)

  def batches(self, sentences: Sequence[conll.Sentence], lang: int = 0) -> kinds_base.EvalData:
    """The sentences packed once for tagging (reusable across evaluations)."""
    untagged = [conll.Sentence(s.tokens, ("O",) * len(s)) for s in sentences]
    return self.kind.eval_batches(untagged, lang=lang, batch_size=self.batch_size,
                                  num_shards=self.mesh.size)

  def tag(self, params: Any, batches: kinds_base.EvalData) -> list[list[str]]:
    """Predicted IOB2 tags of every sentence of `batches`, in the sentences' order."""
    return self.kind.tags(batches, self.run_all(self._predict, params, batches))

  def run(self, step: Callable[..., Any], params: Any, batch: Mapping[str, Any], *args: Any
          ) -> Any:
    """`step(params, batch, *args)` (from `step.make_predict_step`) on a host batch, the result
    back on the host (gathered from every process)."""
    return self._fetch(step(params, step_lib.shard_batch(batch, self.mesh), *args))

  def run_all(self, step: Callable[..., Any], params: Any, batches: Iterable[Mapping[str, Any]],
              *args: Any) -> list[Any]:
    """`run` over every batch, each dispatched before any result is fetched, so that the host
    shards batch k+1 while the devices compute batch k."""
    outputs = [step(params, step_lib.shard_batch(batch, self.mesh), *args) for batch in batches]
    return [self._fetch(output) for output in outputs]

  @staticmethod
  def _fetch(output: Any) -> Any:
    if jax.process_count() > 1:
      return jax.tree.map(lambda x: multihost_utils.process_allgather(x, tiled=True), output)
    return jax.device_get(output)


@dataclasses.dataclass
class EvalSet:
  """One language's sentences of a split, packed for a `Tagger`."""

  sentences: list[conll.Sentence]
  batches: kinds_base.EvalData


def eval_sets(tagger: Tagger, languages: Mapping[str, Sequence[conll.Sentence]],
              order: Sequence[str]) -> dict[str, EvalSet]:
  """Packs each language's sentences; `lang` ids follow the run's language list `order`."""
  return {name: EvalSet(list(sentences), tagger.batches(sentences, lang=order.index(name)))
          for name, sentences in languages.items()}


def evaluate(tagger: Tagger, params: Any, sets: Mapping[str, EvalSet]
             ) -> tuple[dict, dict[str, list[list[str]]]]:
  """conlleval scores (`conlleval.score_languages`) and the predicted tags of every language;
  each language's scores also hold the kind's `notes` on its gold sentences."""
  predictions = {name: tagger.tag(params, s.batches) for name, s in sets.items()}
  scores = conlleval.score_languages(
      {name: ([list(x.tags) for x in s.sentences], predictions[name]) for name, s in sets.items()})
  for name, s in sets.items():
    scores["per_language"][name].update(tagger.kind.notes(s.sentences))
  return scores, predictions
