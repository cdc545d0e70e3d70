"""Entities as a user sees them: character offsets into the text, type, text and probability; and
how well those probabilities are calibrated (expected calibration error, reliability diagram,
temperature scaling fitted on dev).

An entity is a dict `{"start", "end", "type", "text", "score"}` with Python string offsets into
its line (`line[start:end] == text`). Its score is the model's probability of it (each kind's
`base.ScoresEntities.entity_scores` says how), optionally calibrated by a temperature T on its
log-odds: `sigmoid(logit(p) / T)`, the binary form of temperature scaling, which keeps the order
of the scores and so every threshold's ranking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from etils import epath
import numpy as np

from polyglot_ner.data import conll
from polyglot_ner.data import tags as tags_lib

Entity = dict[str, Any]
NUM_BINS = 10
CALIBRATION_FILE = "calibration.json"
# A sentence of more UTF-8 bytes is tagged in batches of as few rows as possible: a batch pads
# every row to its longest, and 512 rows of 100,000 bytes do not fit in memory.
LONG_SENTENCE_BYTES = 2048
_EPSILON = 1e-7


def length_groups(sentences: Sequence[conll.Sentence], windowed: bool
                  ) -> list[tuple[list[int], bool]]:
  """(indices, long) of the non-empty sentences to tag together: the short ones, then the long
  ones (`LONG_SENTENCE_BYTES`; none for a `windowed` kind, whose rows have one size)."""
  nonempty = [i for i, s in enumerate(sentences) if len(s)]
  long = [] if windowed else [i for i in nonempty if len(" ".join(sentences[i].tokens).encode())
                              > LONG_SENTENCE_BYTES]
  short = sorted(set(nonempty) - set(long))
  return [(group, is_long) for group, is_long in ((short, False), (long, True)) if group]


def stored_temperature(workdir: Any, checkpoint: str, step: int) -> float:
  """The temperature `run.calibrate` stored for this checkpoint of a run, else 1."""
  path = epath.Path(workdir) / CALIBRATION_FILE
  if not path.exists():
    return 1.0
  stored = json.loads(path.read_text())
  if (stored["checkpoint"], stored["step"]) != (checkpoint, step):
    return 1.0
  return float(stored["temperature"])


def from_tags(line: str, offsets: Sequence[tuple[int, int]], tags: Sequence[str],
              scores: Sequence[float], temperature: float = 1.0) -> list[Entity]:
  """The entities of a line's IOB2 `tags` (one per token at character `offsets`), with the
  `scores` of its chunks (`tags.spans` order), calibrated by `temperature`."""
  chunks = tags_lib.spans(tags)
  if len(chunks) != len(scores):
    raise ValueError(f"{len(scores)} scores for {len(chunks)} entities")
  calibrated = calibrate(np.asarray(scores, np.float64), temperature)
  entities = []
  for (type_, first, last), score in zip(chunks, calibrated.tolist()):
    start, end = offsets[first][0], offsets[last - 1][1]
    entities.append({"start": start, "end": end, "type": type_, "text": line[start:end],
                     "score": round(score, 6)})
  return entities


def write_jsonl(path: Any, lines: Sequence[str], found: Sequence[Sequence[Entity]]) -> None:
  """One JSON object per line, `{"text": line, "entities": [...]}`, UTF-8 as it is."""
  with epath.Path(path).open("w") as f:
    for line, line_entities in zip(lines, found):
      f.write(json.dumps({"text": line, "entities": list(line_entities)}, ensure_ascii=False)
              + "\n")


def scores_at_last_words(tags: Sequence[str], log_probs: np.ndarray) -> list[float]:
  """The probabilities of the chunks of `tags`, given per word the log-probability of the
  chunk ending there (`crf.entity_log_marginals`)."""
  return [float(np.exp(log_probs[end - 1])) for _, _, end in tags_lib.spans(tags)]


def by_last_words(kind: Any, data: Any, outputs: Sequence[tuple[Any, Any]]
                  ) -> list[tuple[list[str], list[float]]]:
  """`ScoresEntities.entity_scores` of a kind whose `predict_entities` gives `predict`'s tag ids
  and per word the log-probability of the entity ending there."""
  tags = kind.tags(data, [ids for ids, _ in outputs])
  log_probs = kind.per_sentence(data, [values for _, values in outputs])
  return [(t, scores_at_last_words(t, p)) for t, p in zip(tags, log_probs)]


def calibrate(scores: np.ndarray, temperature: float) -> np.ndarray:
  """`sigmoid(logit(scores) / temperature)`; the scores themselves at temperature 1."""
  if temperature == 1.0:
    return np.asarray(scores, np.float64)
  p = np.clip(scores, _EPSILON, 1 - _EPSILON)
  return 1.0 / (1.0 + np.exp(-np.log(p / (1 - p)) / temperature))


def correctness(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
                scores: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
  """(score, correct) of every predicted entity: correct when gold has the same span and type,
  conlleval's match."""
  flat_scores, correct = [], []
  for pred, truth, sentence_scores in zip(predicted, gold, scores):
    gold_chunks = set(tags_lib.spans(truth))
    for chunk, score in zip(tags_lib.spans(pred), sentence_scores):
      flat_scores.append(score)
      correct.append(chunk in gold_chunks)
  return np.asarray(flat_scores, np.float64), np.asarray(correct, bool)


def reliability(scores: np.ndarray, correct: np.ndarray, num_bins: int = NUM_BINS
                ) -> dict[str, Any]:
  """Expected calibration error over `num_bins` equal-width score bins (each bin's |accuracy -
  mean score|, weighted by its share of entities) and the bins' counts, mean scores and
  accuracies (NaN for an empty bin)."""
  bins = np.minimum((np.asarray(scores) * num_bins).astype(int), num_bins - 1)
  counts = np.bincount(bins, minlength=num_bins)
  sums = np.bincount(bins, weights=scores, minlength=num_bins)
  hits = np.bincount(bins, weights=correct.astype(np.float64), minlength=num_bins)
  with np.errstate(invalid="ignore", divide="ignore"):
    confidence, accuracy = sums / counts, hits / counts
  gaps = np.where(counts > 0, np.abs(accuracy - confidence), 0.0)
  ece = float(np.sum(gaps * counts) / max(counts.sum(), 1))
  return {"ece": ece, "entities": int(counts.sum()), "accuracy": float(correct.mean())
          if len(correct) else float("nan"), "counts": counts.tolist(),
          "confidence": confidence.tolist(), "bin_accuracy": accuracy.tolist()}


def fit_temperature(scores: np.ndarray, correct: np.ndarray) -> float:
  """The temperature that minimises the negative log-likelihood of `correct` under the
  calibrated scores (a golden-section search over log T in [-3, 3]); 1 without entities."""
  if not len(scores):
    return 1.0
  target = correct.astype(np.float64)

  def nll(log_t: float) -> float:
    p = np.clip(calibrate(scores, float(np.exp(log_t))), _EPSILON, 1 - _EPSILON)
    return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))

  low, high = -3.0, 3.0
  ratio = (np.sqrt(5) - 1) / 2
  for _ in range(60):
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    if nll(a) < nll(b):
      high = b
    else:
      low = a
  return float(np.exp((low + high) / 2))


def plot_reliability(curves: dict[str, dict[str, Any]], path: str) -> None:
  """A reliability diagram (accuracy against mean score per bin, the diagonal for reference) with
  one curve per name of `curves` (`reliability` results), saved as a PNG."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  figure, axes = plt.subplots(figsize=(4.5, 4.5))
  axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
  for name, curve in curves.items():
    confidence, accuracy = np.asarray(curve["confidence"]), np.asarray(curve["bin_accuracy"])
    seen = np.asarray(curve["counts"]) > 0
    axes.plot(confidence[seen], accuracy[seen], marker="o",
              label=f"{name} (ECE {curve['ece']:.3f}, {curve['entities']} entities)")
  axes.set(xlabel="entity score", ylabel="fraction correct", xlim=(0, 1), ylim=(0, 1))
  axes.legend(loc="upper left", fontsize=7)
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  plt.close(figure)
