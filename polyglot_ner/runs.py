"""Trained runs from a notebook: `runs.load(path)` and what a researcher does with a run.

  from polyglot_ner import runs
  run = runs.load("runs/poly")                 # a workdir (its best checkpoint) or a checkpoint
  run.config, run.label_map, run.languages, run.kind, run.params, run.lineage
  run.tag([["Juan", "vive", "en", "Madrid"]])  # [["B-PER", "O", "O", "B-LOC"]]
  run.tag_text("Juan vive en Madrid .")        # [[("Juan", "B-PER"), ..., (".", "O")]]
  run.evaluate("conll2002/es", split="dev")    # P/R/F1 per language and type, as `evaluate` prints
  run.log_likelihood(sentences)                # log p(gold tags | sentence), one per sentence
  run.entities("Juan vive en Madrid.")         # [{"start": 0, "end": 4, "type": "PER", ...}]

The parameter-sharing analysis (`polyglot_ner.analysis`, `polyglot-ner analyze`) from a notebook:

  imp = run.importance(split="dev", methods=("fisher",))  # {lang: {method: tree like params}}
  masks = run.masks(imp["conll2002/es"]["fisher"], [0.01, 0.05])  # {fraction: bool tree}
  pruned = run.pruned(masks[0.05])             # a Run with those parameters zeroed
  pruned.scores()                              # {lang: dev F1}; run.scores(params) alike
  run.with_params(params)                      # a Run with other parameters (same layout)

`run.importance` takes per-sentence gradients of the gold log-likelihood (`analysis.examples`:
any kind whose batches follow the seam's contract; the true Fisher needs a kind that samples, such
as the byte CRF); `max_sentences` bounds its time.

`run.kind` is the run's model kind (`polyglot_ner.kinds`): its Flax module, pure loss and predict
functions. Kinds with a CRF add per-sentence emissions, marginals, k-best paths and samples here.
Everything runs jit-compiled and sharded over the local devices, like training. The commands
`polyglot-ner evaluate`, `predict` and `analyze` and the experiment's transfer scores go through
this module.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Sequence
from typing import Any, Callable

from etils import epath
import jax
import ml_collections
import numpy as np

from polyglot_ner import config as config_lib
from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner.analysis import examples as examples_lib
from polyglot_ner.analysis import importance as importance_lib
from polyglot_ner.analysis import layout as layout_lib
from polyglot_ner.analysis import masks as masks_lib
from polyglot_ner.analysis import pruning as pruning_lib
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import labels as labels_lib
from polyglot_ner.data import text as text_lib
from polyglot_ner.eval import entities as entities_lib
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
  # Compiled predict steps by function and taggers by batch size, so that calling `tag` or
  # `entities` again compiles nothing.
  _steps: dict[Any, Any] = dataclasses.field(default_factory=dict, init=False, repr=False,
                                             compare=False)
  _taggers: dict[int, inference.Tagger] = dataclasses.field(default_factory=dict, init=False,
                                                            repr=False, compare=False)

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
    size = batch_size or self.config.eval_batch_size
    if size not in self._taggers:
      self._taggers[size] = inference.Tagger(self.kind, self.mesh, size)
    return self._taggers[size]

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
    sentences = _sentences(sentences)
    return tagger.tag(self.params, tagger.batches(sentences, self.lang_id(lang)))

  def tag_text(self, text: str, lang: str | None = None) -> list[list[tuple[str, str]]]:
    """(token, tag) pairs of each non-blank line of `text`, split at whitespace."""
    if not isinstance(text, str):
      raise errors.UserError(f"run.tag_text expects a string, got {type(text).__name__} "
                             f"{_shown(text)} (run.tag tags token lists)")
    sentences = text_lib.split_sentences(text)
    return [list(zip(tokens, tags)) for tokens, tags in zip(sentences, self.tag(sentences, lang))]

  def evaluate(self, languages: str | Sequence[str] | None = None, split: str = "dev",
               data_root: str | os.PathLike | None = None) -> dict[str, Any]:
    """conlleval scores (P/R/F1 per language and entity type, micro and macro averages) of
    `languages` (a name, names, or None: the run's languages) on `split`, read like training
    reads them (the run's data root and type map unless `data_root`)."""
    tagger, sets = self._eval_sets(languages, split, data_root)
    scores, _ = inference.evaluate(tagger, self.params, sets)
    return scores

  def sentences(self, lang: str, split: str = "dev", *, max_sentences: int | None = None,
                seed: int = 0, data_root: str | os.PathLike | None = None
                ) -> list[conll.Sentence]:
    """A language's split read like training reads it (the run's data root and type map unless
    `data_root`); at most `max_sentences` of them (a seeded uniform sample, in order)."""
    data = self.config.data
    sentences = corpora.load_split(lang, split, data_root or data.root or None,
                                   type_map=dict(data.type_map) or None)
    return examples_lib.subset(sentences, max_sentences, seed)

  def _names(self, languages: str | Sequence[str] | None) -> list[str]:
    """A language name, names, or None (the run's languages) as a list."""
    return [languages] if isinstance(languages, str) else list(languages or self.languages)

  def _lang_index(self, lang: str) -> int:
    """The `lang` id of a language; 0 for one the run did not train on (it reads it as its
    first language)."""
    return self.lang_id(lang) if lang in self.languages else 0

  def _eval_sets(self, languages: str | Sequence[str] | None, split: str,
                 data_root: str | os.PathLike | None, *, fit: bool = False, **subset: Any
                 ) -> tuple[inference.Tagger, dict[str, inference.EvalSet]]:
    """A tagger and the languages' sentences packed for it; `fit`: batches no larger than the
    largest language needs (a few sentences in a batch of the run's eval size waste its rows)."""
    sentences = {name: self.sentences(name, split, data_root=data_root, **subset)
                 for name in self._names(languages)}
    batch_size = None
    if fit:
      rows = -(-max(map(len, sentences.values()), default=1) // self.mesh.size) * self.mesh.size
      batch_size = min(self.config.eval_batch_size, max(rows, self.mesh.size))
    tagger = self.tagger(batch_size)
    return tagger, {name: inference.EvalSet(s, tagger.batches(s, self._lang_index(name)))
                    for name, s in sentences.items()}

  def log_likelihood(self, sentences: Sequence[conll.Sentence] | dict[str, Any],
                     lang: str | None = None) -> np.ndarray:
    """log p(gold tags | sentence) per sentence (or per row of a batch of the run's kind)."""
    loss = functools.partial(_loss, self.kind)
    if isinstance(sentences, dict):
      return -np.asarray(self.tagger().run(step_lib.make_predict_step(loss, self.mesh),
                                           self.params, sentences))
    sentences = _sentences(sentences, "run.log_likelihood", tagged=True)
    return -np.asarray(self._per_sentence(loss, sentences, lang, axis=None), dtype=np.float32)

  # Entities with character offsets and scores (`polyglot_ner.eval.entities`).

  def entities(self, text: str | Sequence[str], lang: str | None = None, *,
               tokenize: bool = True, calibrated: bool = True, batch_size: int | None = None
               ) -> list[entities_lib.Entity] | list[list[entities_lib.Entity]]:
    """The entities of `text`, one line (a list of `{"start", "end", "type", "text", "score"}`
    with offsets into it), or of each line of a list of them (a list of lists): the chunks of the
    tags `tag` gives for its tokens, split CoNLL-style (`tokenize.conll_style`; at whitespace
    unless `tokenize`), each with the model's probability of it (the kind's
    `ScoresEntities.entity_scores`), calibrated by the temperature stored with this checkpoint
    (`run.calibrate`) unless not `calibrated`. Sentences of any length are tagged
    whole; `batch_size` (default: the run's eval batch size) bounds the rows of a batch."""
    lines = [text] if isinstance(text, str) else text
    if not isinstance(lines, Sequence) or not all(isinstance(line, str) for line in lines):
      raise errors.UserError(f"run.entities expects a str or a list of str (one line each), "
                             f"got {_shown(text)}")
    # Checked as `tag_text` checks a line (its file, line and column), so not again as tokens.
    spans = [text_lib.checked_spans(line, number, tokenize)
             for number, line in enumerate(lines, 1)]
    tokens = [tuple(line[a:b] for a, b in s) for line, s in zip(lines, spans)]
    scored = self._entity_scores([conll.Sentence(t, ("O",) * len(t)) for t in tokens], lang,
                                 batch_size)
    temperature = self.temperature if calibrated else 1.0
    found = [entities_lib.from_tags(line, s, tags, scores, temperature)
             for line, s, (tags, scores) in zip(lines, spans, scored)]
    return found[0] if isinstance(text, str) else found

  def entity_scores(self, sentences: Sequence[Tokens], lang: str | None = None, *,
                    batch_size: int | None = None) -> list[tuple[list[str], list[float]]]:
    """Per sentence: its IOB2 tags (those `tag` gives) and the probability of each of its
    entities. Long sentences go in batches of as few rows as the mesh allows (a kind whose rows
    are windows keeps its batches), short ones in batches of `batch_size` rows at most, fitted
    to their number and length (`Kind.eval_batches`' `fitted`)."""
    return self._entity_scores(_sentences(sentences, "run.entities"), lang, batch_size)

  def _entity_scores(self, sentences: list[conll.Sentence], lang: str | None,
                     batch_size: int | None) -> list[tuple[list[str], list[float]]]:
    """`entity_scores` of checked sentences."""
    kind = kinds_base.require(self.kind, kinds_base.ScoresEntities, "run.entities")
    result: list[tuple[list[str], list[float]]] = [([], [])] * len(sentences)
    for group, long in entities_lib.length_groups(sentences, self.kind.windowed):
      rows = self.mesh.size if long else batch_size or self.config.eval_batch_size
      tagger = self.tagger(rows)
      data = self.kind.eval_batches([sentences[i] for i in group], lang=self.lang_id(lang),
                                    batch_size=tagger.batch_size, num_shards=self.mesh.size,
                                    fitted=True)
      shared = tagger.run_all(self._step(kind.encode_shared), self.params,
                              kind.shared_batches(data))
      encoded = np.concatenate(shared) if shared else None
      outputs = tagger.run_all(self._step(kind.predict_entities), self.params,
                               (batch if encoded is None else kind.with_shared(batch, encoded)
                                for batch in data))
      for index, scored in zip(group, kind.entity_scores(data, outputs)):
        result[index] = scored
    return result

  def calibrate(self, lang: str | None = None, split: str = "dev", *, held_out: str | None = "test",
                plot: str | os.PathLike | None = None) -> dict[str, Any]:
    """Fits the temperature of this checkpoint's entity scores on `lang`'s `split` (default: the
    run's first language, dev) and stores it with the run (`calibration.json`, which
    `entities` then applies); returns the reliability before and after (10-bin ECE, entity
    correct = exact span and type in gold) on `split` and, under "held_out", on the `held_out`
    split (None: none), which the fit never saw; draws the fitted split's as a PNG at `plot`."""
    name = lang or self.languages[0]
    scores, correct = self._scored_entities(name, split)
    temperature = entities_lib.fit_temperature(scores, correct)

    def reliability(scores: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
      return {"before": entities_lib.reliability(scores, correct),
              "after": entities_lib.reliability(entities_lib.calibrate(scores, temperature),
                                                correct)}

    result = {"checkpoint": self.checkpoint, "step": self.step, "language": name,
              "split": split, "temperature": temperature, **reliability(scores, correct)}
    if held_out:
      result["held_out"] = {"split": held_out,
                            **reliability(*self._scored_entities(name, held_out))}
    (self.workdir / entities_lib.CALIBRATION_FILE).write_text(json.dumps(result, indent=1))
    if plot:
      entities_lib.plot_reliability(
          {f"{self.config.model_kind}, raw": result["before"],
           f"{self.config.model_kind}, T = {temperature:.2f}": result["after"]}, os.fspath(plot))
    return result

  def _scored_entities(self, lang: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The score of every predicted entity of `lang`'s `split`, and whether gold has it."""
    gold = self.sentences(lang, split)
    scored = self.entity_scores(gold, lang if lang in self.languages else None)
    return entities_lib.correctness([t for t, _ in scored], [s.tags for s in gold],
                                    [s for _, s in scored])

  @property
  def temperature(self) -> float:
    """The temperature fitted on dev for this checkpoint (`run.calibrate`), else 1."""
    return entities_lib.stored_temperature(self.workdir, self.checkpoint, self.step)

  # Parameter importance, masks and pruning (`polyglot_ner.analysis`).

  def importance_model(self) -> importance_lib.Model:
    """The run as the importance sees it: its parameters, per-example loss and label sampler."""
    return examples_lib.model(self.kind, self.params)

  def examples(self, sentences: Sequence[conll.Sentence], lang: str | None = None,
               chunk_size: int = examples_lib.DEFAULT_CHUNK_SIZE) -> examples_lib.Examples:
    """Gold-tagged `sentences` of `lang` as chunks of one-row examples of the run's kind."""
    return examples_lib.Examples(self.kind, sentences,
                                 lang=0 if lang is None else self._lang_index(lang),
                                 chunk_size=chunk_size)

  def importance(self, split: str = "dev",
                 methods: Sequence[str] = (importance_lib.DEFAULT_METHOD,),
                 languages: str | Sequence[str] | None = None, *,
                 max_sentences: int | None = None, num_samples: int = 1, seed: int = 0,
                 chunk_size: int = examples_lib.DEFAULT_CHUNK_SIZE,
                 data_root: str | os.PathLike | None = None, progress: bool = True
                 ) -> dict[str, dict[str, importance_lib.Importance]]:
    """{language: {method: importance tree}} of the run's parameters on each language's `split`
    (default: the run's languages), by `importance.METHODS` (the empirical Fisher by default).

    `max_sentences` per language (a seeded sample), `num_samples` labels drawn per sentence for the
    true Fisher, `chunk_size` examples whose gradients live in memory at once (per device).
    """
    names = self._names(languages)
    data = {name: self.examples(self.sentences(name, split, max_sentences=max_sentences,
                                               seed=seed, data_root=data_root),
                                name, chunk_size) for name in names}
    return importance_lib.per_language(
        self.importance_model(), data, methods, num_samples=num_samples,
        rng=jax.random.key(seed), mesh=self.mesh, progress=progress,
        totals={name: len(examples) for name, examples in data.items()}, chunk_rows=chunk_size)

  masks = staticmethod(masks_lib.top_k_masks)

  def with_params(self, params: Any) -> Run:
    """This run with other parameters of the same layout (e.g. pruned ones), replicated."""
    layout_lib.Layout.of(self.params).check(params, "the new parameters")
    return dataclasses.replace(self, params=step_lib.replicate(params, self.mesh))

  def pruned(self, mask: Any) -> Run:
    """This run with the parameters where `mask` (a bool tree, e.g. from `masks`) is True
    zeroed."""
    return self.with_params(pruning_lib.apply_mask(self.params, mask))

  def scorer(self, split: str = "dev", languages: str | Sequence[str] | None = None, *,
             max_sentences: int | None = None, seed: int = 0,
             data_root: str | os.PathLike | None = None) -> Callable[[Any], dict[str, float]]:
    """`score(params) -> {language: F1}` on `split` (default: the run's languages), the
    sentences packed once for every call (what pruning calls again and again)."""
    tagger, sets = self._eval_sets(languages, split, data_root, fit=True,
                                   max_sentences=max_sentences, seed=seed)

    def score(params: Any) -> dict[str, float]:
      scores, _ = inference.evaluate(tagger, step_lib.replicate(params, self.mesh), sets)
      return {name: scores["per_language"][name]["f1"] for name in sets}

    return score

  def scores(self, params: Any = None, split: str = "dev",
             languages: str | Sequence[str] | None = None, **kwargs: Any) -> dict[str, float]:
    """{language: F1} of `params` (default: the run's) on `split`; `kwargs` as in `scorer`."""
    return self.scorer(split, languages, **kwargs)(self.params if params is None else params)

  # CRF kinds.

  def emissions(self, sentences: Sequence[Tokens], lang: str | None = None) -> list[np.ndarray]:
    """Emission scores [words, tags] of each sentence (tag ids: `run.label_map.tags`)."""
    return self._per_sentence(self._crf("emissions"), _sentences(sentences, "run.emissions"),
                              lang)

  def marginals(self, sentences: Sequence[Tokens], lang: str | None = None) -> list[np.ndarray]:
    """p(word t has tag c | sentence) [words, tags] of each sentence."""
    return self._per_sentence(self._crf("marginals"), _sentences(sentences, "run.marginals"),
                              lang)

  def kbest(self, sentences: Sequence[Tokens], k: int, lang: str | None = None
            ) -> list[list[tuple[list[str], float]]]:
    """The k best tag sequences of each sentence with their scores, best first."""
    kbest = functools.partial(self._crf("kbest"), k=k)
    data, outputs = self._outputs(kbest, _sentences(sentences, "run.kbest"), lang)
    paths = self.kind.per_sentence(data, [tags for tags, _ in outputs], axis=1)
    scores = self.kind.per_sentence(data, [scores for _, scores in outputs], axis=None)
    return [[(self.label_map.decode(path), float(score)) for path, score in zip(ps, ss)]
            for ps, ss in zip(paths, scores)]

  def sample(self, sentences: Sequence[Tokens], num_samples: int, seed: int = 0,
             lang: str | None = None) -> list[list[list[str]]]:
    """`num_samples` tag sequences of each sentence drawn from the model's distribution."""
    sample = functools.partial(self._crf("sample"), num_samples=num_samples)
    data, outputs = self._outputs(sample, _sentences(sentences, "run.sample"), lang,
                                  args=(jax.random.PRNGKey(seed),))
    return [[self.label_map.decode(path) for path in paths]
            for paths in self.kind.per_sentence(data, outputs, axis=1)]

  def _crf(self, name: str) -> Callable[..., Any]:
    """The kind's `StructuredOutput` method `name`."""
    kind = kinds_base.require(self.kind, kinds_base.StructuredOutput, f"run.{name}")
    return getattr(kind, name)

  def _step(self, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`'s predict step (`step.make_predict_step`), compiled once per run."""
    if function not in self._steps:
      self._steps[function] = step_lib.make_predict_step(function, self.mesh)
    return self._steps[function]

  def _outputs(self, function: Callable[..., Any], sentences: Sequence[conll.Sentence],
               lang: str | None, args: tuple = ()) -> tuple[kinds_base.EvalData, list[Any]]:
    """The sentences' batches and `function(params, batch, *args)` (rows first) of each."""
    tagger = self.tagger()
    data = self.kind.eval_batches(list(sentences), lang=self.lang_id(lang),
                                  batch_size=tagger.batch_size, num_shards=self.mesh.size)
    return data, tagger.run_all(self._step(function), self.params, data, *args)

  def _per_sentence(self, function: Callable[..., Any], sentences: Sequence[conll.Sentence],
                    lang: str | None, axis: int | None = 0) -> list[Any]:
    """`function(params, batch)` (rows first) per sentence, cut to its length along `axis`."""
    return self.kind.per_sentence(*self._outputs(function, sentences, lang), axis=axis)


def _loss(kind: kinds_base.Kind, params: Any, batch: Any) -> jax.Array:
  """Each row's whole negative log-likelihood: its loss times its weight (a per-byte mean times
  the row's bytes; a sentence's NLL times 1)."""
  loss, real = kind.loss(params, batch, None, train=False)
  return loss * real


_EXPECTED = "a list of sentences, each a list of token strings (e.g. [['Juan', 'vive']])"


def _sentences(sentences: Sequence[Tokens] | Sequence[conll.Sentence], method: str = "run.tag",
               tagged: bool = False) -> list[conll.Sentence]:
  """Token lists as untagged sentences (`conll.Sentence`s pass through; `tagged`: only those),
  checked as the CLI checks a file's tokens, so that no entry point tags what another refuses
  (a string instead of a token list would be tagged character by character)."""
  expected = "a list of conll.Sentence (tokens and gold tags)" if tagged else _EXPECTED
  if isinstance(sentences, (str, conll.Sentence)) or not isinstance(sentences, Sequence):
    raise errors.UserError(f"{method} expects {expected}, got {type(sentences).__name__} "
                           f"{_shown(sentences)}")
  result = []
  for i, sentence in enumerate(sentences):
    if not isinstance(sentence, conll.Sentence) and (
        tagged or isinstance(sentence, str) or not isinstance(sentence, Sequence)):
      hint = "; split it into tokens (run.tag_text tags raw text)" if isinstance(
          sentence, str) else ""
      raise errors.UserError(f"{method} expects {expected}; sentence {i} is "
                             f"{type(sentence).__name__} {_shown(sentence)}{hint}")
    tokens = sentence.tokens if isinstance(sentence, conll.Sentence) else tuple(sentence)
    for j, token in enumerate(tokens):
      problem = conll.token_problem(token) if isinstance(token, str) else (
          0, f"token {_shown(token)} is not a string")
      if problem:
        raise errors.UserError(f"{method}: sentence {i}, token {j}: {problem[1]}")
    result.append(sentence if isinstance(sentence, conll.Sentence) else
                  conll.Sentence(tokens, ("O",) * len(tokens)))
  return result


def _shown(value: Any) -> str:
  """`repr(value)`, cut to 40 characters for an error message."""
  text = repr(value)
  return text if len(text) <= 40 else f"{text[:37]}..."


def load(path: str | os.PathLike, checkpoint: str | None = None) -> Run:
  """The run at `path`: a workdir (its `checkpoint`, default best, else latest when the run has
  not evaluated yet), a kind's directory (`W/checkpoints/latest`: its newest step) or one step
  (`W/checkpoints/best/1234`), whose slot a given `checkpoint` must be. A relative or `gs://` path
  works; a missing path or a missing or damaged checkpoint is a `UserError` naming it (a damaged
  best one suggests the latest)."""
  workdir, slot, step = checkpoint_lib.locate(path, checkpoint)
  with checkpoint_lib.Checkpoints(workdir, read_only=True) as checkpoints:
    if (checkpoint is None and step is None and slot == checkpoint_lib.BEST
        and checkpoints.step(slot) is None):
      slot = checkpoint_lib.LATEST
    try:
      meta = checkpoints.meta(slot, step)
      config = ml_collections.ConfigDict(config_lib.recorded(meta["config"]))
      label_map = labels_lib.LabelMap.from_json(meta["label_map"])
      kind = kinds.build(config, label_map)
      mesh = step_lib.make_mesh()
      params = checkpoints.restore_params(slot, kind.abstract_params(mesh), step)
    except checkpoint_lib.DamagedCheckpoint as e:
      if slot != checkpoint_lib.BEST:
        raise
      raise checkpoint_lib.DamagedCheckpoint(
          f"{e}; the latest checkpoint may still be intact (--checkpoint latest)") from e
  return Run(workdir, slot, int(meta["step"]), config, meta, label_map, kind, params, mesh)
