"""The CRF kernel against brute force over every tag sequence, and its numerics contract."""

import itertools
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from scipy import stats

from polyglot_ner.data import tags as tags_lib
from polyglot_ner.models import crf



def sequence_score(emissions, tags, lengths, transitions, start=None, end=None):
  """Score [B] of the tag sequence `tags` (the log-likelihood's numerator)."""
  return crf._sequence_score(crf._potentials(emissions, lengths, transitions, start, end, None),
                             tags)


def pairwise_marginals(emissions, lengths, transitions, start=None, end=None, *, method="scan"):
  """p(y_t = i, y_{t+1} = j) [B, T-1, C, C]: the gradient of log Z with respect to edge scores."""
  p = crf._potentials(emissions, lengths, transitions, start, end, None)
  batch, steps, num_tags = p.unary.shape
  edges = jnp.zeros((batch, max(steps - 1, 0), num_tags, num_tags), jnp.float32)
  return jax.grad(lambda e: crf._log_partition(p, method, e).sum())(edges)


# The kernel's functions compiled whole: far cheaper in tests than eager op-by-op dispatch.
fast = types.SimpleNamespace(**{
    name: jax.jit(function, static_argnames=static)
    for name, function, static in [
        ("log_partition", crf.log_partition, "method"), ("sequence_score", sequence_score, ()),
        ("log_likelihood", crf.log_likelihood, "method"), ("marginals", crf.marginals, "method"),
        ("pairwise_marginals", pairwise_marginals, "method"), ("viterbi", crf.viterbi, "method"),
        ("kbest", crf.kbest, "k"), ("sample", crf.sample, "num_samples")]})
LENGTHS = (0, 1, 2, 3, 5, 4)
SCHEME_LABELS = {
    "IOB1": ["O", "I-PER", "B-PER", "I-LOC"],
    "IOB2": ["O", "B-PER", "I-PER", "B-LOC"],
    "IOBES": ["O", "B-PER", "E-PER", "S-PER"],
}


def make_problem(seed, lengths=LENGTHS, steps=5, num_tags=3, start_end=True):
  """Random emissions, tags and parameters in float32; start/end None when not wanted."""
  rng = np.random.default_rng(seed)
  lengths = np.asarray(lengths, np.int32)
  normal = lambda *shape: rng.normal(size=shape).astype(np.float32)
  return dict(
      emissions=normal(len(lengths), steps, num_tags),
      tags=rng.integers(0, num_tags, (len(lengths), steps)).astype(np.int32),
      lengths=lengths,
      transitions=normal(num_tags, num_tags),
      start=normal(num_tags) if start_end else None,
      end=normal(num_tags) if start_end else None)


def enumerate_paths(problem, row, allowed=None):
  """Every tag sequence of one row (or every allowed one) and its float64 score."""
  length = int(problem["lengths"][row])
  emissions = problem["emissions"][row].astype(np.float64)
  num_tags = emissions.shape[-1]
  paths = list(itertools.product(range(num_tags), repeat=length))
  paths = np.array(paths, np.int64).reshape(len(paths), length)
  scores = emissions[np.arange(length), paths].sum(1)
  if length:
    scores += problem["transitions"].astype(np.float64)[paths[:, :-1], paths[:, 1:]].sum(1)
    for name, position in (("start", 0), ("end", -1)):
      if problem[name] is not None:
        scores += problem[name].astype(np.float64)[paths[:, position]]
    if allowed is not None:
      ok = (allowed.transitions[paths[:, :-1], paths[:, 1:]].all(1) &
            allowed.start[paths[:, 0]] & allowed.end[paths[:, -1]])
      paths, scores = paths[ok], scores[ok]
  return paths, scores


def exact_distribution(problem, row, allowed=None):
  paths, scores = enumerate_paths(problem, row, allowed)
  log_z = np.logaddexp.reduce(scores)
  return paths, scores, log_z, np.exp(scores - log_z)


def potentials(problem):
  return (problem["emissions"], problem["lengths"], problem["transitions"], problem["start"],
          problem["end"])


@pytest.mark.parametrize("method", crf.METHODS)
@pytest.mark.parametrize("start_end", [False, True])
def test_log_partition_score_and_likelihood_match_brute_force(method, start_end):
  problem = make_problem(0, start_end=start_end)
  emissions, lengths, transitions, start, end = potentials(problem)
  log_z = fast.log_partition(emissions, lengths, transitions, start, end, method=method)
  score = fast.sequence_score(emissions, problem["tags"], lengths, transitions, start, end)
  likelihood = fast.log_likelihood(emissions, problem["tags"], lengths, transitions, start, end,
                                  method=method)
  for row in range(len(lengths)):
    paths, scores, expected_log_z, _ = exact_distribution(problem, row)
    gold = problem["tags"][row, :lengths[row]]
    expected_score = scores[np.flatnonzero((paths == gold).all(1))[0]]
    np.testing.assert_allclose(log_z[row], expected_log_z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(score[row], expected_score, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(likelihood[row], expected_score - expected_log_z, atol=1e-5)
  assert log_z.dtype == jnp.float32 and float(log_z[0]) == 0.0 and float(score[0]) == 0.0


@pytest.mark.parametrize("method", crf.METHODS)
def test_marginals_match_brute_force(method):
  problem = make_problem(1)
  unary = fast.marginals(*potentials(problem), method=method)
  pairwise = fast.pairwise_marginals(*potentials(problem), method=method)
  steps, num_tags = problem["emissions"].shape[1:]
  assert unary.shape == (len(LENGTHS), steps, num_tags)
  assert pairwise.shape == (len(LENGTHS), steps - 1, num_tags, num_tags)
  for row, length in enumerate(LENGTHS):
    paths, _, _, probs = exact_distribution(problem, row)
    expected_unary = np.zeros((steps, num_tags))
    expected_pairwise = np.zeros((steps - 1, num_tags, num_tags))
    for path, prob in zip(paths, probs):
      expected_unary[np.arange(length), path] += prob
      expected_pairwise[np.arange(length - 1), path[:-1], path[1:]] += prob
    np.testing.assert_allclose(unary[row], expected_unary, atol=1e-5)
    np.testing.assert_allclose(pairwise[row], expected_pairwise, atol=1e-5)


def test_extreme_scores_fall_back_to_exact_sums():
  # Emission gaps of hundreds of nats underflow the scaled forward algorithm of method="scan".
  problem = make_problem(16, num_tags=4)
  problem["emissions"] *= 150
  allowed = crf.allowed_transitions(SCHEME_LABELS["IOB2"], "IOB2")
  p = crf._potentials(*potentials(problem), allowed)
  assert crf._forward_recursion(p, crf._scaled_sums(p), None, False)[2]
  log_z = fast.log_partition(*potentials(problem), allowed=allowed)
  unary = fast.marginals(*potentials(problem), allowed=allowed)
  for row, length in enumerate(LENGTHS):
    paths, _, expected_log_z, probs = exact_distribution(problem, row, allowed)
    np.testing.assert_allclose(log_z[row], expected_log_z, rtol=1e-6)
    expected_unary = np.zeros((length, 4))
    for path, prob in zip(paths, probs):
      expected_unary[np.arange(length), path] += prob
    np.testing.assert_allclose(unary[row, :length], expected_unary, atol=1e-5)


def test_ordinary_scores_take_the_scaled_path():
  problem = make_problem(17, num_tags=4)
  p = crf._potentials(*potentials(problem), crf.allowed_transitions(SCHEME_LABELS["IOB2"], "IOB2"))
  assert not crf._forward_recursion(p, crf._scaled_sums(p), None, False)[2]


def test_marginals_are_finite_differences_of_log_partition():
  problem = make_problem(2, lengths=(3, 2), steps=3)
  emissions, lengths, transitions, start, end = potentials(problem)
  unary = fast.marginals(emissions, lengths, transitions, start, end)
  # One batch holding every +-eps perturbation of every emission entry, each in its own row.
  eps = 1e-2
  entries = list(np.ndindex(emissions.shape))
  shifted = np.repeat(emissions[[b for b, _, _ in entries]][None], 2, axis=0)
  for i, (_, t, c) in enumerate(entries):
    shifted[0, i, t, c] += eps
    shifted[1, i, t, c] -= eps
  row_lengths = np.array([lengths[b] for b, _, _ in entries] * 2, np.int32)
  log_z = fast.log_partition(shifted.reshape(-1, *emissions.shape[1:]), row_lengths, transitions,
                            start, end).reshape(2, -1)
  finite_differences = ((log_z[0] - log_z[1]) / (2 * eps)).reshape(emissions.shape)
  np.testing.assert_allclose(unary, finite_differences, atol=2e-3)
  assert np.all(np.asarray(unary)[1, 2] == 0)  # past the length of row 1


@pytest.mark.parametrize("method", crf.METHODS)
@pytest.mark.parametrize("start_end", [False, True])
def test_viterbi_matches_brute_force(method, start_end):
  problem = make_problem(3, start_end=start_end, num_tags=4)
  tags, score = fast.viterbi(*potentials(problem), method=method)
  assert tags.dtype == jnp.int32 and tags.shape == problem["tags"].shape
  for row, length in enumerate(LENGTHS):
    paths, scores = enumerate_paths(problem, row)
    best = np.argmax(scores)
    np.testing.assert_array_equal(tags[row, :length], paths[best])
    np.testing.assert_array_equal(tags[row, length:], 0)
    np.testing.assert_allclose(score[row], scores[best], rtol=1e-5, atol=1e-5)


def test_one_step_sequences_match_brute_force():
  problem = make_problem(15, lengths=(1, 0, 1), steps=1)
  args = potentials(problem)
  tags, _ = fast.kbest(*args, k=4)
  samples = fast.sample(jax.random.key(0), *args, num_samples=2)
  for method in crf.METHODS:
    log_z = fast.log_partition(*args, method=method)
    best, best_score = fast.viterbi(*args, method=method)
    unary = fast.marginals(*args, method=method)
    for row, length in enumerate(problem["lengths"]):
      paths, scores, expected_log_z, probs = exact_distribution(problem, row)
      np.testing.assert_allclose(log_z[row], expected_log_z, rtol=1e-6, atol=1e-6)
      np.testing.assert_array_equal(best[row, :length], paths[np.argmax(scores)])
      np.testing.assert_allclose(best_score[row], scores.max(), rtol=1e-6, atol=1e-6)
      np.testing.assert_allclose(unary[row, 0], probs if length else 0.0, atol=1e-6)
  np.testing.assert_array_equal(tags[0, :3, 0], np.argsort(-enumerate_paths(problem, 0)[1]))
  assert samples.shape == (3, 2, 1) and np.all(np.asarray(samples[1]) == 0)


def test_kbest_matches_brute_force():
  problem = make_problem(4, lengths=(0, 1, 2, 4, 3), steps=4, num_tags=2)
  k = 5
  tags, scores = fast.kbest(*potentials(problem), k=k)
  assert tags.shape == (5, k, 4) and scores.shape == (5, k)
  for row, length in enumerate(problem["lengths"]):
    paths, path_scores = enumerate_paths(problem, row)
    order = np.argsort(-path_scores)[:k]
    found = len(order)
    np.testing.assert_allclose(scores[row, :found], path_scores[order], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(tags[row, :found, :length], paths[order])
    np.testing.assert_array_equal(scores[row, found:], -np.inf)
    np.testing.assert_array_equal(tags[row, found:], 0)
    np.testing.assert_array_equal(tags[row, :, length:], 0)
  viterbi_tags, viterbi_score = fast.viterbi(*potentials(problem))
  np.testing.assert_array_equal(tags[:, 0], viterbi_tags)
  np.testing.assert_allclose(scores[:, 0], viterbi_score, rtol=1e-6)


@pytest.mark.parametrize("scheme", sorted(SCHEME_LABELS))
def test_constrained_functions_match_brute_force_over_allowed_paths(scheme):
  allowed = crf.allowed_transitions(SCHEME_LABELS[scheme], scheme)
  problem = make_problem(5, num_tags=4)
  args = potentials(problem)
  log_z = fast.log_partition(*args, allowed=allowed)
  log_z_associative = fast.log_partition(*args, method="associative", allowed=allowed)
  tags, score = fast.viterbi(*args, allowed=allowed)
  top_tags, top_scores = fast.kbest(*args, allowed=allowed, k=3)
  samples = fast.sample(jax.random.key(0), *args, num_samples=50, allowed=allowed)
  likelihood = fast.log_likelihood(problem["emissions"], problem["tags"], *args[1:],
                                   allowed=allowed)
  for row, length in enumerate(LENGTHS):
    paths, scores, expected_log_z, _ = exact_distribution(problem, row, allowed)
    gold = np.flatnonzero((paths == problem["tags"][row, :length]).all(1))
    if len(gold):
      np.testing.assert_allclose(likelihood[row], scores[gold[0]] - expected_log_z, atol=1e-5)
    else:  # a forbidden gold sequence cannot go unnoticed
      assert likelihood[row] < crf.FORBIDDEN / 2
    order = np.argsort(-scores)[:3]
    np.testing.assert_allclose(log_z[row], expected_log_z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(log_z_associative[row], expected_log_z, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(tags[row, :length], paths[order[0]])
    np.testing.assert_allclose(score[row], scores[order[0]], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(top_tags[row, :len(order), :length], paths[order])
    np.testing.assert_allclose(top_scores[row, :len(order)], scores[order], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(top_scores[row, len(order):], -np.inf)
    allowed_paths = {tuple(path) for path in paths}
    assert {tuple(s[:length]) for s in np.asarray(samples[row])} <= allowed_paths

  def loss(transitions, emissions):
    return -fast.log_likelihood(emissions, tags, problem["lengths"], transitions, problem["start"],
                               problem["end"], allowed=allowed).mean()

  gradients = jax.jit(jax.grad(loss, argnums=(0, 1)))(problem["transitions"],
                                                      problem["emissions"])
  assert all(np.isfinite(g).all() for g in gradients)
  assert np.all(np.asarray(gradients[0])[~allowed.transitions] == 0)


@pytest.mark.parametrize("constrained", [False, True])
def test_segment_log_marginals_match_brute_force(constrained):
  allowed = crf.allowed_transitions(SCHEME_LABELS["IOB2"], "IOB2") if constrained else None
  problem = make_problem(7, num_tags=4)
  rng = np.random.default_rng(1)
  steps = problem["tags"].shape[1]
  segment_start = np.minimum(rng.integers(0, steps, problem["tags"].shape),
                             np.arange(steps)).astype(np.int32)
  stop = rng.random((4, 4)) < 0.6
  marginal = jax.jit(crf.segment_log_marginals)(
      *potentials(problem), tags=problem["tags"], segment_start=segment_start, stop=stop,
      allowed=allowed)
  for row, length in enumerate(LENGTHS):
    paths, _, _, probs = exact_distribution(problem, row, allowed)
    tags = problem["tags"][row]
    for t in range(length):
      first = segment_start[row, t]
      keep = (paths[:, first:t + 1] == tags[first:t + 1]).all(1)
      if t + 1 < length:
        keep &= stop[tags[t], paths[:, t + 1]]
      expected = np.log(probs[keep].sum()) if keep.any() else crf.FORBIDDEN
      np.testing.assert_allclose(marginal[row, t], max(expected, crf.FORBIDDEN), rtol=1e-4,
                                 atol=1e-4)
    np.testing.assert_array_equal(marginal[row, length:], 0.0)


def test_allowed_transitions_are_the_tag_schemes_rules():
  labels = SCHEME_LABELS["IOBES"]
  allowed = crf.allowed_transitions(labels, "BIOES")
  assert isinstance(allowed, crf.Allowed)
  for got, expected in zip(allowed, tags_lib.allowed_transitions(labels, "IOBES")):
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("method", crf.METHODS)
def test_constrained_viterbi_is_the_best_valid_iob2_path(method):
  """Valid IOB2 judged by the tag scheme's own writer (`to_iob2` keeps a valid sequence as is),
  the best path by brute force over every sequence; the unconstrained paths are often invalid."""
  labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
  allowed = crf.allowed_transitions(labels, "IOB2")
  invalid_unconstrained = 0
  for seed in range(3):
    problem = make_problem(30 + seed, lengths=(5, 4, 3, 2, 1, 0, 5, 5), num_tags=len(labels),
                           start_end=seed == 2)
    tags, score = fast.viterbi(*potentials(problem), allowed=allowed, method=method)
    free, _ = fast.viterbi(*potentials(problem), method=method)
    for row, length in enumerate(problem["lengths"]):
      paths, scores = enumerate_paths(problem, row)
      words = [[labels[i] for i in path] for path in paths]
      valid = np.array([tags_lib.to_iob2(w, "IOB2") == w for w in words], bool)
      best = np.flatnonzero(valid)[np.argmax(scores[valid])]
      np.testing.assert_array_equal(tags[row, :length], paths[best])
      np.testing.assert_allclose(score[row], scores[best], rtol=1e-5, atol=1e-5)
      invalid_unconstrained += not valid[(paths == free[row, :length]).all(1)][0]
  assert invalid_unconstrained >= 10  # of 24 rows


def test_sample_frequencies_match_exact_probabilities():
  problem = make_problem(6, lengths=(3, 2, 1, 0), steps=3)
  num_samples = 20000
  samples = np.asarray(fast.sample(jax.random.key(1), *potentials(problem),
                                  num_samples=num_samples))
  assert samples.shape == (4, num_samples, 3) and samples.dtype == np.int32
  np.testing.assert_array_equal(samples[3], 0)
  for row, length in enumerate(problem["lengths"][:3]):
    paths, _, _, probs = exact_distribution(problem, row)
    np.testing.assert_array_equal(samples[row, :, length:], 0)
    index = {tuple(path): i for i, path in enumerate(paths)}
    observed = np.bincount([index[tuple(s[:length])] for s in samples[row]],
                           minlength=len(paths))
    expected = probs * num_samples
    small = expected < 5  # pool rare paths into one bin, as the chi-square test needs
    observed = np.append(observed[~small], observed[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    keep = expected > 0
    assert stats.chisquare(observed[keep], expected[keep]).pvalue > 1e-3, row


def test_scan_and_associative_agree_on_long_sequences():
  problem = make_problem(7, lengths=(512, 300, 1, 0), steps=512, num_tags=9)
  log_z = [fast.log_partition(*potentials(problem), method=m) for m in crf.METHODS]
  np.testing.assert_allclose(log_z[1], log_z[0], rtol=1e-4)


@pytest.mark.slow
def test_scan_and_associative_gradients_and_paths_agree_on_long_sequences():
  problem = make_problem(7, lengths=(512, 300, 1, 0), steps=512, num_tags=9)
  args = potentials(problem)

  @jax.jit
  def both(emissions):
    out = []
    for method in crf.METHODS:
      loss = lambda e, m=method: fast.log_likelihood(e, problem["tags"], *args[1:], method=m).sum()
      out.append((jax.grad(loss)(emissions), fast.viterbi(emissions, *args[1:], method=method)))
    return out

  (grad, (tags, score)), (grad2, (tags2, score2)) = both(problem["emissions"])
  np.testing.assert_allclose(grad2, grad, atol=1e-4)
  np.testing.assert_array_equal(tags2, tags)
  np.testing.assert_allclose(score2, score, rtol=1e-4)


def test_padding_content_changes_nothing():
  problem = make_problem(8)
  dirty = dict(problem, emissions=problem["emissions"].copy(), tags=problem["tags"].copy())
  rng = np.random.default_rng(0)
  for row, length in enumerate(LENGTHS):
    dirty["emissions"][row, length:] = rng.choice([np.nan, np.inf, -1e30, 1e6], (5 - length, 3))
    dirty["tags"][row, length:] = rng.choice([-7, 99, 2], 5 - length)

  def everything(p):
    args = potentials(p)
    out = {"sample": fast.sample(jax.random.key(0), *args, num_samples=4),
           "kbest": fast.kbest(*args, k=3)}
    for method in crf.METHODS:
      loss = lambda e, tr, s, en: fast.log_likelihood(e, p["tags"], p["lengths"], tr, s, en,
                                                     method=method).sum()
      out[method] = (jax.value_and_grad(loss, argnums=(0, 1, 2, 3))(*args[:1], *args[2:]),
                     fast.viterbi(*args, method=method), fast.marginals(*args, method=method),
                     fast.pairwise_marginals(*args, method=method))
    return out

  everything = jax.jit(everything)
  clean, messy = everything(problem), everything(dirty)
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
               clean, messy)
  emissions_grad = np.asarray(messy["scan"][0][1][0])
  assert np.isfinite(emissions_grad).all() and np.all(emissions_grad[5, 4:] == 0)


def test_length_zero_rows_have_zero_log_partition_score_and_gradients():
  problem = make_problem(9, lengths=(0, 0))
  allowed = crf.allowed_transitions(SCHEME_LABELS["IOB2"][:3], "IOB2")
  for method in crf.METHODS:
    def loss(emissions, transitions, start, end):
      return fast.log_likelihood(emissions, problem["tags"], problem["lengths"], transitions, start,
                                end, method=method, allowed=allowed).sum()
    value, grads = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))(
        problem["emissions"], problem["transitions"], problem["start"], problem["end"])
    assert float(value) == 0.0
    assert all(np.all(np.asarray(g) == 0) for g in grads)


def test_bfloat16_emissions_give_the_float32_answer():
  problem = make_problem(10, num_tags=4)
  low = jnp.asarray(problem["emissions"], jnp.bfloat16)
  high = np.asarray(low.astype(jnp.float32))  # the same values, in float32
  rest = potentials(problem)[1:]
  for method in crf.METHODS:
    got = fast.log_likelihood(low, problem["tags"], *rest, method=method)
    want = fast.log_likelihood(high, problem["tags"], *rest, method=method)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(fast.viterbi(low, *rest)[1], fast.viterbi(high, *rest)[1], rtol=1e-6)


def test_vmap_and_gradient_are_consistent():  # (every other test runs the kernel under jit)
  problem = make_problem(11)
  emissions, lengths, transitions, start, end = potentials(problem)
  tags = problem["tags"]

  # vmap over a stack of batches, each with its own transitions, equals a loop over them.
  stack = [make_problem(20 + i) for i in range(3)]
  stacked = {key: np.stack([p[key] for p in stack]) for key in stack[0]}
  mapped = jax.jit(jax.vmap(crf.log_likelihood))(
      stacked["emissions"], stacked["tags"], stacked["lengths"], stacked["transitions"],
      stacked["start"], stacked["end"])
  looped = [fast.log_likelihood(p["emissions"], p["tags"], *potentials(p)[1:]) for p in stack]
  np.testing.assert_allclose(mapped, np.stack(looped), rtol=1e-6)
  mapped_tags = jax.jit(jax.vmap(lambda *a: crf.viterbi(*a)[0]))(
      stacked["emissions"], stacked["lengths"], stacked["transitions"], stacked["start"],
      stacked["end"])
  np.testing.assert_array_equal(mapped_tags, np.stack([fast.viterbi(*potentials(p))[0]
                                                       for p in stack]))

  # The gradient of the log-likelihood is gold counts minus expected counts.
  grad_transitions, grad_start = jax.jit(jax.grad(
      lambda tr, s: crf.log_likelihood(emissions, tags, lengths, tr, s, end).sum(),
      argnums=(0, 1)))(transitions, start)
  pairwise = np.asarray(fast.pairwise_marginals(emissions, lengths, transitions, start, end))
  unary = np.asarray(fast.marginals(emissions, lengths, transitions, start, end))
  gold_transitions = np.zeros_like(transitions)
  gold_start = np.zeros_like(start)
  for row, length in enumerate(LENGTHS):
    if length:
      gold_start[tags[row, 0]] += 1
    np.add.at(gold_transitions, (tags[row, :max(length - 1, 0)], tags[row, 1:length]), 1)
  np.testing.assert_allclose(grad_transitions, gold_transitions - pairwise.sum((0, 1)), atol=1e-5)
  np.testing.assert_allclose(grad_start, gold_start - unary[:, 0].sum(0), atol=1e-5)


def test_sharded_batch_equals_unsharded():
  assert len(jax.devices()) >= 4, "tests/conftest.py should force four CPU devices"
  mesh = Mesh(np.array(jax.devices()[:4]), ("data",))
  batch = NamedSharding(mesh, P("data"))
  problem = make_problem(12, lengths=(0, 1, 2, 3, 5, 4, 5, 2))
  emissions, lengths, transitions, start, end = potentials(problem)

  @jax.jit
  def step(emissions, tags, lengths):
    loss = lambda tr: -crf.log_likelihood(emissions, tags, lengths, tr, start, end).mean()
    return (crf.log_likelihood(emissions, tags, lengths, transitions, start, end),
            crf.log_likelihood(emissions, tags, lengths, transitions, start, end,
                               method="associative"),
            jax.grad(loss)(transitions), crf.viterbi(emissions, lengths, transitions, start, end))

  unsharded = step(emissions, problem["tags"], lengths)
  sharded = step(*jax.device_put((emissions, problem["tags"], lengths), batch))
  assert sharded[0].sharding.is_equivalent_to(batch, 1)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6),
               sharded, unsharded)


@pytest.mark.parametrize("use_start_end", [False, True])
def test_module_owns_parameters_and_calls_the_kernel(use_start_end):
  problem = make_problem(13, start_end=False)
  emissions, lengths = problem["emissions"], problem["lengths"]
  layer = crf.CRF(num_tags=3, use_start_end=use_start_end)
  variables = layer.init(jax.random.key(0), emissions, problem["tags"], lengths)
  params = variables["params"]
  assert set(params) == ({"transitions", "start", "end"} if use_start_end else {"transitions"})
  assert params["transitions"].shape == (3, 3)
  boundaries = (params["start"], params["end"]) if use_start_end else (None, None)
  np.testing.assert_allclose(
      jax.jit(layer.apply)(variables, emissions, problem["tags"], lengths),
      fast.log_likelihood(emissions, problem["tags"], lengths, params["transitions"], *boundaries),
      rtol=1e-6)
  decoded = jax.jit(lambda v: layer.apply(v, emissions, lengths, method=crf.CRF.decode))(variables)
  expected = fast.viterbi(emissions, lengths, params["transitions"], *boundaries)
  jax.tree.map(np.testing.assert_array_equal, decoded, expected)


def test_module_decodes_with_its_method():
  """`CRF.decode` runs the Viterbi of the layer's `method`; both find the same paths."""
  problem = make_problem(15, start_end=False)
  emissions, lengths = problem["emissions"], problem["lengths"]
  allowed = crf.allowed_transitions(SCHEME_LABELS["IOB2"][:3], "IOB2")
  variables = {"params": {"transitions": problem["transitions"]}}
  decoded = {}
  for method in crf.METHODS:
    layer = crf.CRF(num_tags=3, method=method)
    decoded[method] = jax.jit(lambda v, a: layer.apply(v, emissions, lengths, allowed=a,
                                                       method=crf.CRF.decode))(variables, allowed)
    expected = fast.viterbi(emissions, lengths, problem["transitions"], allowed=allowed,
                            method=method)
    jax.tree.map(np.testing.assert_array_equal, decoded[method], expected)
  np.testing.assert_array_equal(decoded["associative"][0], decoded["scan"][0])
  np.testing.assert_allclose(decoded["associative"][1], decoded["scan"][1], rtol=1e-6)


def test_bad_arguments_raise_clear_errors():
  problem = make_problem(14)
  with pytest.raises(ValueError, match="unknown method 'parallel'"):
    crf.log_partition(*potentials(problem), method="parallel")
  with pytest.raises(ValueError, match=r"transitions must be \[3, 3\]"):
    crf.viterbi(problem["emissions"], problem["lengths"], np.zeros((4, 4)))
