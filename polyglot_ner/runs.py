"""Trained runs from a notebook: `runs.load(path)` and what a researcher does with a run.

  from polyglot_ner import runs
  run = runs.load("runs/poly")                 # a workdir (its best checkpoint) or a checkpoint
  run.config, run.label_map, run.languages, run.kind, run.params, run.lineage
  run.tag([["Juan", "vive", "en", "Madrid"]])  # [["B-PER", "O", "O", "B-LOC"]]
  run.tag_text("Juan vive en Madrid .")        # [[("Juan", "B-PER"), ..., (".", "O")]]
  run.evaluate("conll2002/es", split="dev")    # P/R/F1 per language and type, as `evaluate` prints
  run.log_likelihood(sentences)                # log p(gold tags | sentence), one per sentence

`run.kind` is the run's model kind (`polyglot_ner.kinds`): its Flax module, pure loss and predict
functions. Kinds with a CRF add per-sentence emissions, marginals, k-best paths and samples here.
Everything runs jit-compiled and sharded over the local devices, like training. The commands
`polyglot-ner evaluate` and `predict` and the experiment's transfer scores go through this module.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from typing import Any, Callable

from etils import epath
import jax
import ml_collections
import numpy as np

from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import text as text_lib
from polyglot_ner.kinds import base as kinds_base
from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import inference
from polyglot_ner.train import lineage as lineage_lib
from polyglot_ner.train import step as step_lib

Tokens = Sequence[str]


@dataclasses.dataclass
class Run:
  """One checkpoint of a trained run with its config, label map, model kind and parameters."""

  workdir: epath.Path
  checkpoint: str  # "best" or "latest"
  step: int
  config: ml_collections.ConfigDict
  meta: dict[str, Any]
  label_map: labels_lib.LabelMap
  kind: kinds_base.Kind
  params: Any
  mesh: jax.sharding.Mesh

  @property
  def languages(self) -> list[str]:
    """The run's training languages; a row's `lang` id is an index into this list."""
    return list(self.meta["languages"])

  @property
  def path(self) -> epath.Path:
    """The directory of the loaded checkpoint."""
    return checkpoint_lib.checkpoint_dir(self.workdir, self.checkpoint) / str(self.step)

  @property
  def lineage(self) -> list[dict[str, Any]]:
    """This checkpoint, then the runs it was fine-tuned from (`polyglot-ner lineage`)."""
    return lineage_lib.lineage(self.path)

  def tagger(self, batch_size: int | None = None) -> inference.Tagger:
    """A tagger of the run's kind; the batch size defaults to the run's eval batch size."""
    return inference.Tagger(self.kind, self.mesh, batch_size or self.config.eval_batch_size)

  def lang_id(self, lang: str | None) -> int:
    """The `lang` id of a language name (None: the run's first language)."""
    if lang is None:
      return 0
    if lang not in self.languages:
      raise errors.UserError(f"language {lang!r} is not one of the run's languages "
                             f"{self.languages}")
    return self.languages.index(lang)

  def tag(self, sentences: Sequence[Tokens] | Sequence[conll.Sentence], lang: str | None = None
          ) -> list[list[str]]:
    """Predicted IOB2 tags of each sentence (token lists, or `conll.Sentence`s whose tags are
    ignored), as a model of `lang` (default: the run's first language)."""
    tagger = self.tagger()
    return tagger.tag(self.params, tagger.batches(_sentences(sentences), self.lang_id(lang)))

  def tag_text(self, text: str, lang: str | None = None) -> list[list[tuple[str, str]]]:
    """(token, tag) pairs of each non-blank line of `text`, split at whitespace."""
    sentences = text_lib.split_sentences(text)
    return [list(zip(tokens, tags)) for tokens, tags in zip(sentences, self.tag(sentences, lang))]

  def evaluate(self, languages: str | Sequence[str] | None = None, split: str = "dev",
               data_root: str | os.PathLike | None = None) -> dict[str, Any]:
    """conlleval scores (P/R/F1 per language and entity type, micro and macro averages) of
    `languages` (a name, names, or None: the run's languages) on `split`, read like training
    reads them (the run's data root and type map unless `data_root`)."""
    names = [languages] if isinstance(languages, str) else list(languages or self.languages)
    data = self.config.data
    root = data_root or data.root or None
    type_map = dict(data.type_map) or None
    tagger = self.tagger()
    sets = {name: inference.EvalSet(
        sentences, tagger.batches(sentences, self.lang_id(name) if name in self.languages else 0))
        for name in names
        for sentences in [corpora.load_split(name, split, root, type_map=type_map)]}
    scores, _ = inference.evaluate(tagger, self.params, sets)
    return scores

  def log_likelihood(self, sentences: Sequence[conll.Sentence] | dict[str, Any],
                     lang: str | None = None) -> np.ndarray:
    """log p(gold tags | sentence) per sentence (or per row of a batch of the run's kind)."""
    loss = functools.partial(_loss, self.kind)
    if isinstance(sentences, dict):
      return -np.asarray(self.tagger().run(step_lib.make_predict_step(loss, self.mesh),
                                           self.params, sentences))
    return -np.asarray(self._per_sentence(loss, sentences, lang, axis=None), dtype=np.float32)

  # CRF kinds.

  def emissions(self, sentences: Sequence[Tokens], lang: str | None = None) -> list[np.ndarray]:
    """Emission scores [words, tags] of each sentence (tag ids: `run.label_map.tags`)."""
    return self._per_sentence(self._crf("emissions"), _sentences(sentences), lang)

  def marginals(self, sentences: Sequence[Tokens], lang: str | None = None) -> list[np.ndarray]:
    """p(word t has tag c | sentence) [words, tags] of each sentence."""
    return self._per_sentence(self._crf("marginals"), _sentences(sentences), lang)

  def kbest(self, sentences: Sequence[Tokens], k: int, lang: str | None = None
            ) -> list[list[tuple[list[str], float]]]:
    """The k best tag sequences of each sentence with their scores, best first."""
    kbest = functools.partial(self._crf("kbest"), k=k)
    data, outputs = self._outputs(kbest, _sentences(sentences), lang)
    paths = self.kind.per_sentence(data, [tags for tags, _ in outputs], axis=1)
    scores = self.kind.per_sentence(data, [scores for _, scores in outputs], axis=None)
    return [[(self.label_map.decode(path), float(score)) for path, score in zip(ps, ss)]
            for ps, ss in zip(paths, scores)]

  def sample(self, sentences: Sequence[Tokens], num_samples: int, seed: int = 0,
             lang: str | None = None) -> list[list[list[str]]]:
    """`num_samples` tag sequences of each sentence drawn from the model's distribution."""
    sample = functools.partial(self._crf("sample"), num_samples=num_samples)
    data, outputs = self._outputs(sample, _sentences(sentences), lang,
                                  args=(jax.random.PRNGKey(seed),))
    return [[self.label_map.decode(path) for path in paths]
            for paths in self.kind.per_sentence(data, outputs, axis=1)]

  def _crf(self, name: str) -> Callable[..., Any]:
    method = getattr(self.kind, name, None)
    if method is None:
      raise errors.UserError(f"the {self.config.model_kind!r} model has no CRF: no {name}")
    return method

  def _outputs(self, function: Callable[..., Any], sentences: Sequence[conll.Sentence],
               lang: str | None, args: tuple = ()) -> tuple[kinds_base.EvalData, list[Any]]:
    """The sentences' batches and `function(params, batch, *args)` (rows first) of each."""
    tagger = self.tagger()
    data = self.kind.eval_batches(list(sentences), lang=self.lang_id(lang),
                                  batch_size=tagger.batch_size, num_shards=self.mesh.size)
    step = step_lib.make_predict_step(function, self.mesh)
    return data, [tagger.run(step, self.params, batch, *args) for batch in data]

  def _per_sentence(self, function: Callable[..., Any], sentences: Sequence[conll.Sentence],
                    lang: str | None, axis: int | None = 0) -> list[Any]:
    """`function(params, batch)` (rows first) per sentence, cut to its length along `axis`."""
    return self.kind.per_sentence(*self._outputs(function, sentences, lang), axis=axis)


def _loss(kind: kinds_base.Kind, params: Any, batch: Any) -> jax.Array:
  return kind.loss(params, batch, None, train=False)[0]


def _sentences(sentences: Sequence[Tokens] | Sequence[conll.Sentence]) -> list[conll.Sentence]:
  """Token lists as untagged sentences (`conll.Sentence`s pass through)."""
  return [s if isinstance(s, conll.Sentence) else conll.Sentence(tuple(s), ("O",) * len(s))
          for s in sentences]


def load(path: str | os.PathLike, checkpoint: str | None = None) -> Run:
  """The run at `path`: a workdir (its `checkpoint`, default best, else latest when the run has
  not evaluated yet), a kind's directory (`W/checkpoints/latest`: its newest step) or one step
  (`W/checkpoints/best/1234`). A relative or `gs://` path works; a missing or damaged checkpoint
  is a `UserError` naming it."""
  if checkpoint is None:
    workdir, kind_name, step = checkpoint_lib.locate(path)
  else:
    workdir, kind_name, step = checkpoint_lib.run_path(path), checkpoint, None
  with checkpoint_lib.Checkpoints(workdir, read_only=True) as checkpoints:
    if (checkpoint is None and step is None and kind_name == checkpoint_lib.BEST
        and checkpoints.step(kind_name) is None):
      kind_name = checkpoint_lib.LATEST
    meta = checkpoints.meta(kind_name, step)
    config = ml_collections.ConfigDict(meta["config"])
    label_map = labels_lib.LabelMap.from_json(meta["label_map"])
    kind = kinds.build(config, label_map)
    mesh = step_lib.make_mesh()
    params = checkpoints.restore_params(kind_name, kind.abstract_params(mesh), step)
  return Run(workdir, kind_name, int(meta["step"]), config, meta, label_map, kind, params, mesh)
