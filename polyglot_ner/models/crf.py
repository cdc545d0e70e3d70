"""Linear-chain CRF as pure JAX functions: the byte CRF's output layer and a kernel others can lift.

No maintained JAX CRF library exists. This one is exact, takes lengths (not masks) as the truth,
trains under tag-scheme constraints, and offers two forward algorithms tested equal: a sequential
`lax.scan` (the scaled forward algorithm, one small matrix product per step, redone with exact
log-sum-exps whenever a sum could have underflowed) and a parallel `lax.associative_scan` over
log-semiring matrix products (O(log T) depth, for accelerators and long sequences).

Conventions shared by every function:
  emissions    [B, T, C] any float dtype; computed in float32 whatever comes in.
  lengths      [B] int, 0 <= length <= T. Positions past a row's length are ignored whatever they
               hold (even NaN): results and gradients are the same as for clean padding.
  tags         [B, T] int; positions past the length are ignored on input and hold 0 on output.
  transitions  [C, C]: `transitions[i, j]` scores tag i followed by tag j.
  start, end   optional [C] scores of the first and last tag (None = absent, as in the paper's
               TensorFlow code).
  allowed      optional constraints: an `Allowed` triple (what `allowed_transitions` returns) or a
               bare boolean [C, C] matrix (first and last tags then unconstrained). Forbidden
               transitions get the finite score `FORBIDDEN`, so constrained functions see (almost)
               only allowed paths and never produce NaN values or gradients.
  A row of length 0 has exactly one (empty) path: log Z = 0, score = 0, zero gradients.

The Flax Linen module `CRF` at the end owns the parameters and calls these functions; the functions
themselves use no Flax.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from polyglot_ner.data import tags as tags_lib

# Score given to forbidden transitions and empty k-best slots: finite, so that sums and log-sum-exps
# over fully forbidden slices stay finite (no inf - inf), yet far below any real path score.
FORBIDDEN = -1e9
METHODS = ("scan", "associative")
# Below this, a sum of the scaled forward algorithm may have lost terms to float32 underflow.
_UNDERFLOW = 1e-30


class Allowed(NamedTuple):
  """Transitions a tag scheme permits: tag i then j, first tag, last tag (None = unconstrained)."""

  transitions: np.ndarray | jax.Array  # bool [C, C]
  start: np.ndarray | jax.Array | None  # bool [C]
  end: np.ndarray | jax.Array | None  # bool [C]


def allowed_transitions(labels: Sequence[str], scheme: str) -> Allowed:
  """The constraints of `scheme` between `labels` ("O", "B-PER"), from
  `polyglot_ner.data.tags.allowed_transitions` (which states each scheme's rules)."""
  return Allowed(*tags_lib.allowed_transitions(labels, scheme))


class _Potentials(NamedTuple):
  """Float32 potentials with padding cleaned and constraints applied."""

  unary: jax.Array  # [B, T, C], zero past the length
  transitions: jax.Array  # [C, C], FORBIDDEN where not allowed
  start: jax.Array  # [C], zeros when absent
  end: jax.Array  # [C], zeros when absent
  lengths: jax.Array  # int32 [B]


def _potentials(emissions, lengths, transitions, start, end, allowed) -> _Potentials:
  emissions = jnp.asarray(emissions)
  if emissions.ndim != 3:
    raise ValueError(f"emissions must be [B, T, C], got shape {emissions.shape}")
  _, steps, num_tags = emissions.shape
  transitions = jnp.asarray(transitions, jnp.float32)
  if transitions.shape != (num_tags, num_tags):
    raise ValueError(f"transitions must be [{num_tags}, {num_tags}] for {num_tags} tags, "
                     f"got shape {transitions.shape}")
  lengths = jnp.asarray(lengths, jnp.int32)
  valid = _valid(lengths, steps)
  unary = jnp.where(valid[..., None], emissions.astype(jnp.float32), 0.0)
  start, end = (jnp.zeros(num_tags, jnp.float32) if v is None else jnp.asarray(v, jnp.float32)
                for v in (start, end))
  if allowed is not None:
    if not isinstance(allowed, tuple):
      allowed = Allowed(allowed, None, None)
    ok_transitions, ok_start, ok_end = allowed
    transitions = jnp.where(jnp.asarray(ok_transitions, bool), transitions, FORBIDDEN)
    if ok_start is not None:
      start = jnp.where(jnp.asarray(ok_start, bool), start, FORBIDDEN)
    if ok_end is not None:
      end = jnp.where(jnp.asarray(ok_end, bool), end, FORBIDDEN)
  return _Potentials(unary, transitions, start, end, lengths)


def _valid(lengths: jax.Array, steps: int) -> jax.Array:
  return jnp.arange(steps)[None, :] < lengths[:, None]


def _logsumexp(x: jax.Array, axis: int) -> jax.Array:
  """log-sum-exp for finite inputs (all ours are): cheaper than jax.nn.logsumexp's inf handling."""
  peak = jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
  return jnp.squeeze(peak, axis) + jnp.log(jnp.sum(jnp.exp(x - peak), axis=axis))


def _time_major(x: jax.Array) -> jax.Array:
  return jnp.swapaxes(x, 0, 1)


def _forward_scan(p: _Potentials, edges: jax.Array | None = None,
                  keep_alphas: bool = False) -> tuple[jax.Array, jax.Array | None]:
  """Sequential forward algorithm: log Z [B] and, if asked, the forward scores [T, B, C].

  Fast path: the scaled forward algorithm, one [B, C] x [C, C] matrix product per step. If any of
  its sums underflows (a state far below the best one, from extreme scores or constraints), the
  batch is recomputed with exact log-sum-exps, so the result is exact either way. `edges`
  [B, T-1, C, C] adds position-dependent transition scores (pairwise marginals) and always takes
  the exact path. Forward scores past a row's length stay at their value at the last position.
  """
  if edges is not None:
    return _forward_recursion(p, _exact_sums(p), edges, keep_alphas)[:2]
  log_z, alphas, underflow = _forward_recursion(p, _scaled_sums(p), None, keep_alphas)
  # Rematerialised, so that differentiating the cond does not store the exact path's residuals.
  exact = jax.checkpoint(lambda p: _forward_recursion(p, _exact_sums(p), None, keep_alphas)[:2])
  return jax.lax.cond(underflow, lambda: exact(p), lambda: (log_z, alphas))


def _exact_sums(p: _Potentials):
  """log sum_i exp(alpha[i] + transitions[i, j]) by log-sum-exp: O(B C^2) exponentials."""

  def sums(alpha, edges_t):
    transitions = p.transitions if edges_t is None else p.transitions + edges_t
    return _logsumexp(alpha[:, :, None] + transitions, axis=1), jnp.zeros(alpha.shape[0], bool)

  return sums


def _scaled_sums(p: _Potentials):
  """The same sums as a matrix product of exp-shifted scores, and which rows may have underflowed.

  Each row is shifted by its best state and each column of the transitions by its best entry, so
  the largest term of a sum is exp(transition - column best); a sum below _UNDERFLOW may have lost
  terms and flags its row.
  """
  column_best = jax.lax.stop_gradient(jnp.max(p.transitions, axis=0))
  weights = jnp.exp(p.transitions - column_best)

  def sums(alpha, _):
    best = jax.lax.stop_gradient(jnp.max(alpha, axis=1, keepdims=True))
    total = jnp.matmul(jnp.exp(alpha - best), weights, precision=jax.lax.Precision.HIGHEST)
    log_total = jnp.log(jnp.maximum(total, _UNDERFLOW)) + best + column_best
    return log_total, jnp.min(total, axis=1) < _UNDERFLOW

  return sums


def _forward_recursion(p: _Potentials, sums, edges: jax.Array | None, keep_alphas: bool):
  """Runs alpha[t] = sums(alpha[t-1]) + unary[t] over time: (log Z, alphas, any underflow)."""
  valid = _valid(p.lengths, p.unary.shape[1])

  def step(carry, xs):
    alpha, underflow = carry
    unary_t, valid_t, edges_t = xs
    summed, lost = sums(alpha, edges_t)
    alpha = jnp.where(valid_t[:, None], summed + unary_t, alpha)
    return (alpha, underflow | (lost & valid_t)), alpha if keep_alphas else None

  alpha0 = p.unary[:, 0] + p.start
  xs = (_time_major(p.unary[:, 1:]), valid[:, 1:].T, None if edges is None else _time_major(edges))
  (alpha, underflow), later = jax.lax.scan(step, (alpha0, jnp.zeros_like(p.lengths, dtype=bool)), xs)
  log_z = jnp.where(p.lengths > 0, _logsumexp(alpha + p.end, axis=-1), 0.0)
  alphas = jnp.concatenate([alpha0[None], later]) if keep_alphas else None
  return log_z, alphas, jnp.any(underflow)


def _forward_associative(p: _Potentials, reduce: Callable[..., jax.Array],
                         edges: jax.Array | None = None) -> jax.Array:
  """Parallel forward algorithm in the semiring whose sum is `reduce` (log-sum-exp or max): [B].

  Position t >= 1 becomes the matrix transitions + unary[t]; positions past the length become the
  semiring identity, so one `lax.associative_scan` multiplies every row's matrices at once.
  """
  _, steps, num_tags = p.unary.shape
  alpha = p.unary[:, 0] + p.start
  if steps > 1:
    matrices = p.transitions + p.unary[:, 1:, None, :]
    if edges is not None:
      matrices = matrices + edges
    identity = jnp.where(jnp.eye(num_tags, dtype=bool), 0.0, FORBIDDEN)
    in_row = _valid(p.lengths, steps)[:, 1:, None, None]
    matrices = jnp.where(in_row, matrices, identity)

    def multiply(a, b):
      return reduce(a[..., :, :, None] + b[..., None, :, :], axis=-2)

    product = jax.lax.associative_scan(multiply, matrices, axis=1)[:, -1]
    alpha = reduce(alpha[:, :, None] + product, axis=1)
  return jnp.where(p.lengths > 0, reduce(alpha + p.end, axis=-1), 0.0)


def _log_partition(p: _Potentials, method: str, edges: jax.Array | None = None) -> jax.Array:
  if method == "scan":
    return _forward_scan(p, edges)[0]
  if method == "associative":
    return _forward_associative(p, _logsumexp, edges)
  raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def log_partition(emissions: jax.Array, lengths: jax.Array, transitions: jax.Array,
                  start: jax.Array | None = None, end: jax.Array | None = None, *,
                  method: str = "scan", allowed: Allowed | jax.Array | None = None) -> jax.Array:
  """log Z [B]: log-sum-exp of the scores of every (allowed) tag sequence of each row.

  `method`: "scan" (sequential, cheapest on CPU) or "associative" (O(log T) depth, for
  accelerators and long sequences). `allowed` restricts the sum to allowed paths (constrained
  training).
  """
  return _log_partition(_potentials(emissions, lengths, transitions, start, end, allowed), method)


def _sequence_score(p: _Potentials, tags: jax.Array) -> jax.Array:
  steps = p.unary.shape[1]
  valid = _valid(p.lengths, steps)
  tags = jnp.where(valid, jnp.asarray(tags, jnp.int32), 0)
  unary = jnp.take_along_axis(p.unary, tags[..., None], axis=-1)[..., 0].sum(-1)
  pairs = jnp.where(valid[:, 1:], p.transitions[tags[:, :-1], tags[:, 1:]], 0.0).sum(-1)
  last = jnp.take_along_axis(tags, jnp.maximum(p.lengths - 1, 0)[:, None], axis=1)[:, 0]
  boundary = jnp.where(p.lengths > 0, p.start[tags[:, 0]] + p.end[last], 0.0)
  return unary + pairs + boundary


def log_likelihood(emissions: jax.Array, tags: jax.Array, lengths: jax.Array,
                   transitions: jax.Array, start: jax.Array | None = None,
                   end: jax.Array | None = None, *, method: str = "scan",
                   allowed: Allowed | jax.Array | None = None) -> jax.Array:
  """log p(tags | emissions) [B] = score - log Z; the training loss is its negative mean.

  With `allowed` the distribution is restricted to allowed paths; a forbidden gold sequence then
  gets a log-likelihood near FORBIDDEN, which makes bad data impossible to miss.
  """
  p = _potentials(emissions, lengths, transitions, start, end, allowed)
  return _sequence_score(p, tags) - _log_partition(p, method)


def marginals(emissions: jax.Array, lengths: jax.Array, transitions: jax.Array,
              start: jax.Array | None = None, end: jax.Array | None = None, *,
              method: str = "scan", allowed: Allowed | jax.Array | None = None) -> jax.Array:
  """Unary marginals p(y_t = c) [B, T, C] (zero past the length): the gradient of log Z."""
  p = _potentials(emissions, lengths, transitions, start, end, allowed)
  return jax.grad(lambda unary: _log_partition(p._replace(unary=unary), method).sum())(p.unary)


def _suffix_scores(p: _Potentials) -> jax.Array:
  """[B, T, C]: log-sum-exp of the scores of every path suffix from position t with tag c, its
  unary at t and the end score included: the forward algorithm on each row reversed."""
  steps = p.unary.shape[1]
  positions = jnp.arange(steps)[None, :]
  reverse = jnp.where(positions < p.lengths[:, None], p.lengths[:, None] - 1 - positions,
                      positions)  # an involution: it also maps the reversed row back

  def flip(x):
    return jnp.take_along_axis(x, reverse[..., None], axis=1)

  reversed_p = p._replace(unary=flip(p.unary), transitions=p.transitions.T, start=p.end,
                          end=p.start)
  return flip(_time_major(_forward_scan(reversed_p, keep_alphas=True)[1]))


def segment_log_marginals(emissions: jax.Array, lengths: jax.Array, transitions: jax.Array,
                          start: jax.Array | None = None, end: jax.Array | None = None, *,
                          tags: jax.Array, segment_start: jax.Array, stop: jax.Array,
                          allowed: Allowed | jax.Array | None = None) -> jax.Array:
  """log p(segment ending at t) [B, T] (0 past the length), by forward-backward: the probability
  that a row's tags are `tags` from `segment_start[b, t]` to t and that the tag after t, if any,
  is one that `stop` [C, C] (bool: tag j may follow tag i at a segment's end) allows after
  `tags[b, t]`. For an entity, `tags` is the decoded path, the segment its span and `stop` says
  which tags do not continue it, so the result read at the span's last position is the marginal
  probability of the span and its type (what `Run.entities` reports).

  `segment_start` [B, T] int, <= t. Path scores inside a segment are summed in float32, as the
  forward algorithm's are.
  """
  p = _potentials(emissions, lengths, transitions, start, end, allowed)
  steps = p.unary.shape[1]
  valid = _valid(p.lengths, steps)
  tags = jnp.where(valid, jnp.asarray(tags, jnp.int32), 0)
  log_z, alphas = _forward_scan(p, keep_alphas=True)
  alphas = _time_major(alphas)
  suffixes = _suffix_scores(p)
  unary = jnp.take_along_axis(p.unary, tags[..., None], axis=-1)[..., 0]
  pairs = jnp.pad(p.transitions[tags[:, :-1], tags[:, 1:]], ((0, 0), (1, 0)))
  # Forbidden steps of the path are counted, not summed: FORBIDDEN would swamp a float32 sum.
  forbidden = pairs <= FORBIDDEN / 2
  prefix = jnp.cumsum(jnp.where(forbidden, 0.0, unary + pairs), axis=1)  # start excluded
  # Into the segment: every prefix ending in its first tag, less the path's score up to there.
  first = jnp.asarray(segment_start, jnp.int32)
  on_path = jnp.take_along_axis(alphas, tags[..., None], axis=-1)[..., 0] - prefix
  entry = jnp.take_along_axis(on_path, first, axis=1)
  steps_forbidden = jnp.cumsum(forbidden, axis=1)
  broken = steps_forbidden > jnp.take_along_axis(steps_forbidden, first, axis=1)
  # Out of it: every suffix from t + 1 whose first tag `stop` allows, or the end score at the end.
  after = jnp.pad(suffixes[:, 1:], ((0, 0), (0, 1), (0, 0)))
  leave = jnp.where(jnp.asarray(stop, bool)[tags], p.transitions[tags] + after, FORBIDDEN)
  last = jnp.arange(steps)[None, :] == p.lengths[:, None] - 1
  exit_ = jnp.where(last, p.end[tags], _logsumexp(leave, axis=-1))
  log_p = jnp.where(broken, FORBIDDEN, entry + prefix + exit_ - log_z[:, None])
  return jnp.where(valid, log_p, 0.0)


def entity_log_marginals(emissions: jax.Array, lengths: jax.Array, transitions: jax.Array,
                         start: jax.Array | None = None, end: jax.Array | None = None, *,
                         tags: jax.Array, labels: Sequence[str],
                         allowed: Allowed | jax.Array | None = None) -> jax.Array:
  """log p(the entity of `tags` that ends at t) [B, T] (meaningless where none ends): the
  marginal probability of its tags (B-X I-X ..., by `labels`' IOB2 names) and of the next tag not
  being I-X, `segment_log_marginals` over the chunks of `tags` (conlleval's: a stray I-X starts
  one, as in `tags.spans`)."""
  continues = np.array([[b != tags_lib.OUTSIDE and b[0] == "I" and a != tags_lib.OUTSIDE
                         and b[2:] == a[2:] for b in labels] for a in labels], bool)
  tags = jnp.asarray(tags, jnp.int32)
  opens = jnp.pad(~jnp.asarray(continues)[tags[:, :-1], tags[:, 1:]], ((0, 0), (1, 0)),
                  constant_values=True)
  positions = jnp.arange(tags.shape[1], dtype=jnp.int32)
  segment_start = jax.lax.cummax(jnp.where(opens, positions, 0), axis=1)
  return segment_log_marginals(emissions, lengths, transitions, start, end, tags=tags,
                               segment_start=segment_start, stop=~continues, allowed=allowed)


def _viterbi_scan(p: _Potentials) -> tuple[jax.Array, jax.Array]:
  """Max-product recursion keeping back-pointers, then a reverse scan that follows them."""
  _, steps, num_tags = p.unary.shape
  valid = _valid(p.lengths, steps)
  stay = jnp.arange(num_tags, dtype=jnp.int32)

  def step(score, xs):
    unary_t, valid_t = xs
    candidates = score[:, :, None] + p.transitions
    previous = jnp.argmax(candidates, axis=1).astype(jnp.int32)
    nxt = jnp.take_along_axis(candidates, previous[:, None, :], axis=1)[:, 0] + unary_t
    keep = valid_t[:, None]
    return jnp.where(keep, nxt, score), jnp.where(keep, previous, stay)

  score, pointers = jax.lax.scan(step, p.unary[:, 0] + p.start,
                                 (_time_major(p.unary[:, 1:]), valid[:, 1:].T))
  final = score + p.end
  last = jnp.argmax(final, axis=-1).astype(jnp.int32)

  def back(tag, pointers_t):
    return jnp.take_along_axis(pointers_t, tag[:, None], axis=1)[:, 0], tag

  first, later = jax.lax.scan(back, last, pointers, reverse=True)
  tags = jnp.concatenate([first[:, None], later.T], axis=1)
  return tags, jnp.max(final, axis=-1)


def _viterbi_associative(p: _Potentials) -> tuple[jax.Array, jax.Array]:
  """Best score by a max-plus associative scan; the path is the gradient of that score."""
  def total(unary):
    score = _forward_associative(p._replace(unary=unary), jnp.max)
    return score.sum(), score

  on_path, score = jax.grad(total, has_aux=True)(p.unary)
  return jnp.argmax(on_path, axis=-1).astype(jnp.int32), score


def viterbi(emissions: jax.Array, lengths: jax.Array, transitions: jax.Array,
            start: jax.Array | None = None, end: jax.Array | None = None,
            allowed: Allowed | jax.Array | None = None, *,
            method: str = "scan") -> tuple[jax.Array, jax.Array]:
  """Best tag sequence [B, T] int32 (0 past the length) and its score [B] (0 for length 0).

  With `allowed`, the best allowed sequence whenever one exists. `method="associative"` finds the
  best score with a max-plus associative scan and the path as its gradient (O(log T) depth).
  """
  p = _potentials(emissions, lengths, transitions, start, end, allowed)
  if method == "scan":
    tags, score = _viterbi_scan(p)
  elif method == "associative":
    tags, score = _viterbi_associative(p)
  else:
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
  valid = _valid(p.lengths, p.unary.shape[1])
  return jnp.where(valid, tags, 0), jnp.where(p.lengths > 0, score, 0.0)


def kbest(emissions: jax.Array, lengths: jax.Array, transitions: jax.Array,
          start: jax.Array | None = None, end: jax.Array | None = None,
          allowed: Allowed | jax.Array | None = None, *,
          k: int) -> tuple[jax.Array, jax.Array]:
  """The k best distinct tag sequences [B, k, T] int32 and their scores [B, k], best first.

  A row has C**length sequences (one, empty, for length 0), fewer when `allowed` forbids some.
  Slots beyond a row's number of (allowed) sequences hold score -inf and tags 0. Real scores are
  assumed above FORBIDDEN / 2. `kbest(..., k=1)` equals `viterbi` up to ties.
  """
  p = _potentials(emissions, lengths, transitions, start, end, allowed)
  batch, steps, num_tags = p.unary.shape
  valid = _valid(p.lengths, steps)
  stay = jnp.arange(num_tags * k, dtype=jnp.int32).reshape(num_tags, k)  # code = tag * k + slot

  def step(score, xs):  # score [B, C, k]: k best prefixes ending in each tag
    unary_t, valid_t = xs
    candidates = score[:, :, :, None] + p.transitions[None, :, None, :]
    candidates = jnp.swapaxes(candidates.reshape(batch, num_tags * k, num_tags), 1, 2)
    top, codes = jax.lax.top_k(candidates, k)
    keep = valid_t[:, None, None]
    return jnp.where(keep, top + unary_t[:, :, None], score), jnp.where(keep, codes, stay)

  score0 = jnp.full((batch, num_tags, k), FORBIDDEN, jnp.float32)
  score0 = score0.at[:, :, 0].set(p.unary[:, 0] + p.start)
  score, pointers = jax.lax.scan(step, score0, (_time_major(p.unary[:, 1:]), valid[:, 1:].T))
  best, last = jax.lax.top_k((score + p.end[:, None]).reshape(batch, num_tags * k), k)

  def back(code, pointers_t):
    return jnp.take_along_axis(pointers_t.reshape(batch, num_tags * k), code, axis=1), code

  first, later = jax.lax.scan(back, last.astype(jnp.int32), pointers, reverse=True)
  tags = jnp.concatenate([first[None], later]).transpose(1, 2, 0) // k  # [B, k, T]
  best = jnp.where(p.lengths[:, None] > 0, best, jnp.where(jnp.arange(k) == 0, 0.0, FORBIDDEN))
  found = best > FORBIDDEN / 2
  tags = jnp.where(found[:, :, None] & valid[:, None, :], tags, 0)
  return tags, jnp.where(found, best, -jnp.inf)


def sample(key: jax.Array, emissions: jax.Array, lengths: jax.Array, transitions: jax.Array,
           start: jax.Array | None = None, end: jax.Array | None = None, *,
           num_samples: int = 1, allowed: Allowed | jax.Array | None = None) -> jax.Array:
  """Exact samples from p(tags | emissions), [B, num_samples, T] int32, 0 past the length.

  Forward filtering, backward sampling: draw the last tag from the final forward scores, then each
  earlier tag given the one after it.
  """
  p = _potentials(emissions, lengths, transitions, start, end, allowed)
  batch, steps, _ = p.unary.shape
  _, alphas = _forward_scan(p, keep_alphas=True)  # [T, B, C], frozen past each row's length
  last_key, step_keys = jax.random.split(key)
  last = jax.random.categorical(last_key, (alphas[-1] + p.end)[:, None, :],
                                shape=(batch, num_samples))

  def back(tag, xs):  # tag [B, S]: the tag at t + 1, or the last tag while t + 1 >= length
    alpha_t, key_t, t = xs
    drawn = jax.random.categorical(key_t, alpha_t[:, None, :] + p.transitions.T[tag])
    tag = jnp.where(t < p.lengths[:, None] - 1, drawn, tag)
    return tag, tag

  xs = (alphas[:-1], jax.random.split(step_keys, steps - 1), jnp.arange(steps - 1))
  _, earlier = jax.lax.scan(back, last, xs, reverse=True)
  tags = jnp.concatenate([earlier, last[None]]).transpose(1, 2, 0).astype(jnp.int32)
  return jnp.where(_valid(p.lengths, steps)[:, None, :], tags, 0)


class CRF(nn.Module):
  """A linear-chain CRF layer: owns "transitions" [C, C] (and "start"/"end" [C] if enabled).

  The paper's model uses transitions only (`use_start_end=False`), initialised Glorot-uniform
  like TensorFlow's `crf-trans-params`.
  """

  num_tags: int
  use_start_end: bool = False
  method: str = "scan"
  transitions_init: Callable[..., jax.Array] = nn.initializers.glorot_uniform()

  def setup(self):
    shape = (self.num_tags, self.num_tags)
    self.transitions = self.param("transitions", self.transitions_init, shape, jnp.float32)
    if self.use_start_end:
      self.start = self.param("start", nn.initializers.zeros, (self.num_tags,), jnp.float32)
      self.end = self.param("end", nn.initializers.zeros, (self.num_tags,), jnp.float32)

  def _boundaries(self) -> tuple[jax.Array | None, jax.Array | None]:
    return (self.start, self.end) if self.use_start_end else (None, None)

  def __call__(self, emissions: jax.Array, tags: jax.Array, lengths: jax.Array, *,
               allowed: Allowed | jax.Array | None = None) -> jax.Array:
    """log p(tags | emissions) [B]; the training loss is its negative mean."""
    return log_likelihood(emissions, tags, lengths, self.transitions, *self._boundaries(),
                          method=self.method, allowed=allowed)

  def decode(self, emissions: jax.Array, lengths: jax.Array, *,
             allowed: Allowed | jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Viterbi tags [B, T] (0 past the length) and their scores [B], by this layer's `method`."""
    return viterbi(emissions, lengths, self.transitions, *self._boundaries(), allowed=allowed,
                   method=self.method)
