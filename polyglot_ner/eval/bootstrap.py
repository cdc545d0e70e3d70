"""Paired bootstrap over test sentences: is system A's span F1 really higher than system B's?

Both systems tag the same gold sentences. Each sentence contributes span counts (correct, found,
gold) from the scorer's own chunks (`polyglot_ner.eval.conlleval.sentences`), so the sums over
sentences are the scorer's corpus totals. A bootstrap sample draws n sentence indices with
replacement, the same indices for both systems (paired), and recomputes each system's micro
(corpus-level) F1 from the summed counts (Koehn 2004; Berg-Kirkpatrick et al. 2012).

Several seeds: `counts_a` and `counts_b` may hold one row of sentences per seed, seed-matched (row s
of A and row s of B come from runs with the same seed). The statistic is then the mean over seeds of
F1(A, s) - F1(B, s), the difference of the seed-averaged F1s a results table reports, and every
bootstrap sample applies the same sentence indices to all seeds. This measures the uncertainty
that comes from the choice of test sentences, with the seeds held fixed; seed-to-seed variance is
reported separately (the std over seeds).

p-value (one-sided, H1: A better than B): the fraction of bootstrap samples whose difference is
<= 0. Two identical systems give p = 1 (every difference is exactly 0). p = 0 means that no sample
reached 0, i.e. p < 1 / num_samples, which `format_p_value` writes as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from polyglot_ner.eval import conlleval

# Indices drawn per chunk (samples x sentences): bounds the memory of the vectorised resampling.
_CHUNK_ELEMENTS = 1 << 22


@dataclasses.dataclass(frozen=True)
class BootstrapResult:
  """Observed F1(A) - F1(B) (seed-averaged), its one-sided p-value and a percentile interval."""

  delta: float
  p_value: float
  ci_low: float
  ci_high: float
  confidence: float
  num_samples: int
  num_sentences: int
  num_seeds: int


def sentence_counts(gold_seqs: Sequence[Sequence[str]],
                    pred_seqs: Sequence[Sequence[str]]) -> np.ndarray:
  """int64 [n, 3]: per sentence, (correct, found, gold) spans with conlleval's chunk rules.

  The column sums equal `polyglot_ner.eval.conlleval.score(gold, pred)`'s correct/found/gold.
  """
  counts = [(len(s.gold_spans & s.pred_spans), len(s.pred_spans), len(s.gold_spans))
            for s in conlleval.sentences(gold_seqs, pred_seqs)]
  return np.array(counts, np.int64).reshape(len(counts), 3)


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
  """Micro F1 from summed (correct, found, gold) on the last axis; 0 where it is undefined."""
  counts = np.asarray(counts, np.float64)
  correct, found, gold = counts[..., 0], counts[..., 1], counts[..., 2]
  # F1 = 2PR / (P + R) = 2 correct / (found + gold); 0 when nothing was found or expected.
  total = found + gold
  return np.divide(2 * correct, total, out=np.zeros_like(total), where=total > 0)


def _as_seeds(counts: np.ndarray, name: str) -> np.ndarray:
  counts = np.asarray(counts)
  if counts.ndim == 2:
    counts = counts[None]
  if counts.ndim != 3 or counts.shape[-1] != 3:
    raise ValueError(f"{name}: expected (correct, found, gold) counts of shape [n, 3] or "
                     f"[seeds, n, 3], got {counts.shape}")
  return counts


def paired_bootstrap(counts_a: np.ndarray, counts_b: np.ndarray, *, num_samples: int = 1000,
                     seed: int = 0, confidence: float = 0.95) -> BootstrapResult:
  """Paired bootstrap of F1(A) - F1(B) over sentences (see the module docstring).

  Args:
    counts_a, counts_b: `sentence_counts` of each system, [n, 3] or seed-matched [seeds, n, 3];
      the gold column must agree (same test sentences).
    num_samples: bootstrap samples. Sample b uses row b of `rng.integers(0, n, (num_samples, n))`
      with `rng = np.random.default_rng(seed)`, drawn in chunks.
    confidence: coverage of the percentile interval [ci_low, ci_high].
  """
  a, b = _as_seeds(counts_a, "counts_a"), _as_seeds(counts_b, "counts_b")
  if a.shape != b.shape:
    raise ValueError(f"systems are not paired: counts of shape {a.shape} and {b.shape}")
  if not np.array_equal(a[..., 2], b[..., 2]):
    raise ValueError("systems are not scored against the same gold (the gold counts differ)")
  if num_samples < 1:
    raise ValueError(f"num_samples must be >= 1, got {num_samples}")
  seeds, n, _ = a.shape
  if n == 0:
    raise ValueError("no test sentences to resample")
  # Both systems' counts side by side: [n, seeds * 6] so one matmul sums a whole chunk of samples.
  both = np.concatenate([a, b], axis=-1).transpose(1, 0, 2).reshape(n, seeds * 6)
  both = both.astype(np.float64)  # exact: counts are far below 2**53

  def delta(sums: np.ndarray) -> np.ndarray:
    sums = sums.reshape(*sums.shape[:-1], seeds, 6)
    return (f1_from_counts(sums[..., :3]) - f1_from_counts(sums[..., 3:])).mean(axis=-1)

  observed = float(delta(both.sum(axis=0)))
  rng = np.random.default_rng(seed)
  chunk = max(1, _CHUNK_ELEMENTS // n)
  deltas = np.empty(num_samples)
  for start in range(0, num_samples, chunk):
    size = min(chunk, num_samples - start)
    indices = rng.integers(0, n, (size, n))
    # How often each sentence was drawn in each sample, then the counts summed per sample.
    offsets = (indices + n * np.arange(size)[:, None]).ravel()
    multiplicity = np.bincount(offsets, minlength=size * n).reshape(size, n).astype(np.float64)
    deltas[start:start + size] = delta(multiplicity @ both)
  tail = (1 - confidence) / 2
  low, high = np.quantile(deltas, [tail, 1 - tail])
  return BootstrapResult(delta=observed, p_value=float(np.mean(deltas <= 0)), ci_low=float(low),
                         ci_high=float(high), confidence=confidence, num_samples=num_samples,
                         num_sentences=n, num_seeds=seeds)


def format_p_value(p_value: float, num_samples: int) -> str:
  """`p=0.012`, or `p<0.001` when no sample reached the null (p is then below 1/num_samples)."""
  if p_value == 0:
    return f"p<{1 / num_samples:.2g}"
  return f"p={p_value:.3g}"
