"""Byte-to-Span's data (research-notes §2.1): a split as one byte stream, 60-byte windows, span
targets, and the stitching of windows' predicted spans back into word IOB2 tags.

* **Stream.** A split's sentences laid end to end: each sentence's bytes
  (`byte_stream.sentence_bytes`: words joined by one space, CharNER's byte labels) followed by one
  space labelled O. Spans are the maximal runs of equal non-O byte labels; since every word is
  followed by exactly one space, word k starts at `sum(len(word_j) + 1 for j < k)`.
* **Vocabulary.** Built from the run's label space (not the original's hard-coded 131 tokens, whose
  8 types mix CoNLL and LORELEI and include a never-emitted O): STOP, GO, one token per entity type
  of the label map, S:0 .. S:W-1 (a span's start in its window), L:1 .. L:W (its length). W = 60
  and the 4 CoNLL types give 126 tokens.
* **Targets.** The spans fully inside a window, in descending start order, as (S, L, type) triples,
  then STOP: `[S:14, L:2, PER, S:0, L:13, LOC, STOP]`. The decoder's teacher-forced input is GO and
  the same tokens without STOP (the model builds it).
* **Batches** (`Windows.batch`): a dict of int32 arrays

    bytes [B, W]         the window's byte values (0 past its length)
    lengths [B]          the window's number of bytes (0 for a row padding a last partial batch)
    lang [B]             the row's language index
    targets [B, 3K+1]    target tokens, STOP past each row's target length
    target_lengths [B]   3 x (spans in the window) + 1 (0 for a padding row)

  K is the smallest of `span_buckets` that holds the batch's most crowded window (a bucket of a
  multiple of the largest is added when needed), so `jit` compiles a few programs.
* **Training windows** (`WindowTrainBatches`): the original enumerates a window at every byte
  (stride 1, an epoch of N windows for N bytes). We sample instead, and an epoch is one pass over
  the bytes: each language's stream is cut into slots of W bytes, an epoch draws every slot once
  (`mixture.Mixture.epoch_order` over the slot counts, so the languages' shares follow the mixture,
  by bytes), and each draw starts its window at a uniformly random byte of its slot. Every start
  position is about equally likely, as in the original (those of a stream's last, shorter slot a
  little more), and an epoch holds ceil(N / W) windows covering about N bytes. Windows never
  straddle two languages; those near a stream's end are shorter, as in the original. Byte dropout
  is the model's (training only).
* **Test windows** (`WindowEvalBatches`): stride 30 (W minus the original's overlap of 30), the
  last window possibly shorter. A row is a window: `indices[i][r]` is the window of batch i's row
  r (-1 for a padding row). `word_tags` stitches the windows' predictions: spans move to absolute
  positions, conflicts are resolved (sorted by start, of mutually overlapping spans one survives:
  `SPAN_CONFLICTS`), and each word takes the type of the nearest surviving span that starts at or
  before its first byte if the word ends inside it (B- if the span starts at or after the byte
  before the word, else I- after a word of the same type).
* **Conflicts** (`config.data.span_conflicts`): the original keeps the span that starts earliest
  within its own window ("window_start"); we keep, by default, the one whose (start, length, type)
  the decoder gave the highest probability ("confidence"): a window's spans near its end are
  guesses about bytes it cannot see, and the decoder's probability says so (+3.1 to +4.6 test F1
  on every converged CoNLL-2002 run, the same checkpoints; RESULTS.md, "The paper's three models").
* An entity that no test window holds whole can never be predicted: longer than W bytes, or longer
  than W - stride (30) bytes and placed across every window's edge. `unreachable_entities` counts
  both kinds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from polyglot_ner import errors
from polyglot_ner.data import batches
from polyglot_ner.data import byte_stream
from polyglot_ner.data import conll
from polyglot_ner.data import mixture as mixture_lib
from polyglot_ner.data import tags as tags_lib

DEFAULT_WINDOW = 60
DEFAULT_EVAL_STRIDE = 30
DEFAULT_SPAN_BUCKETS = (4, 8, 16)  # spans per window: CoNLL windows hold at most about 12
# How overlapping spans of different test windows are resolved (module docstring).
SPAN_CONFLICTS = ("confidence", "window_start")

_SPACE = ord(" ")
# Seed stream of the start offsets within slots; mixture.py uses 0 and 1, data/batches.py 2.
_WINDOW_START_STREAM = 3


class Vocabulary:
  """The decoder's tokens: STOP, GO, the entity types, S:0 .. S:W-1, L:1 .. L:W."""

  STOP = 0
  GO = 1

  def __init__(self, types: Sequence[str], window: int):
    if window < 1:
      raise errors.UserError(f"the BTS window must be >= 1 byte, got {window}")
    self.types = tuple(types)
    self.window = window
    self.first_type = 2
    self.first_start = self.first_type + len(self.types)
    self.first_length = self.first_start + window
    self.size = self.first_length + window
    self._type_ids = {type_: i for i, type_ in enumerate(self.types)}

  def names(self) -> list[str]:
    """Each token's name, by id."""
    return (["STOP", "GO", *self.types] + [f"S:{i}" for i in range(self.window)]
            + [f"L:{i}" for i in range(1, self.window + 1)])

  def type_ids(self, names: np.ndarray) -> np.ndarray:
    """Entity type names -> their indices in `types`; a type the vocabulary lacks is an error."""
    unknown = sorted(set(np.unique(names).tolist()) - set(self._type_ids))
    if unknown:
      raise errors.UserError(f"entity types {unknown} are not in the BTS vocabulary's types "
                             f"{list(self.types)}")
    return np.array([self._type_ids[name] for name in names.tolist()], dtype=np.int64)

  def spans(self, tokens: np.ndarray) -> tuple[np.ndarray, ...]:
    """Token rows [B, 3K+1] of the grammar (triples, then STOP at a multiple of 3, STOP after it)
    -> count [B], start [B, K], length [B, K], type [B, K] (entries past a row's count are
    meaningless). A row that breaks the grammar is a ValueError."""
    tokens = np.asarray(tokens)
    rows, width = tokens.shape
    spans = (width - 1) // 3
    if width != 3 * spans + 1:
      raise ValueError(f"token rows must hold 3K+1 tokens, got {width}")
    stops = tokens[:, ::3] == self.STOP
    count = np.argmax(stops, axis=1)
    triples = tokens[:, :3 * spans].reshape(rows, spans, 3)
    starts, lengths, types = (triples[..., 0] - self.first_start,
                              triples[..., 1] - self.first_length + 1,
                              triples[..., 2] - self.first_type)
    inside = np.arange(spans) < count[:, None]
    after = np.arange(width) >= 3 * count[:, None]
    if (not np.all(stops.any(axis=1))
        or np.any(inside & ((starts < 0) | (starts >= self.window)))
        or np.any(inside & ((lengths < 1) | (lengths > self.window)))
        or np.any(inside & ((types < 0) | (types >= len(self.types))))
        or np.any(after & (tokens != self.STOP))):
      raise ValueError("token rows break the BTS grammar (S, L, type triples, then STOP)")
    return count, starts, lengths, types


class ByteStream:
  """Sentences as one byte stream: each sentence's bytes, then one O space.

  Attributes: `bytes` uint8 [N]; spans `span_start`, `span_length` int64 and `span_type` (str)
  sorted by start (maximal runs of equal non-O byte labels); `word_start`, `word_length` int64 [m]
  (every word's bytes in the stream); `sentence_start` int64 [n] (every sentence's first byte);
  `sentence_words` int64 [n] (words per sentence).
  """

  def __init__(self, sentences: Sequence[conll.Sentence]):
    pieces, labels = [], []
    for sentence in sentences:
      stream, names = byte_stream.sentence_bytes(sentence)
      pieces += [stream, [_SPACE]]
      labels += [names, ["O"]]
    self.bytes = np.concatenate([np.zeros(0, np.uint8), *pieces]).astype(np.uint8)
    labels = np.concatenate([np.zeros(0, str), *labels])
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    run_start = np.concatenate([[0], change]).astype(np.int64)[:len(labels)]
    run_end = np.append(change, len(labels)).astype(np.int64)[:len(labels)]
    entity = labels[run_start] != "O" if len(labels) else np.zeros(0, bool)
    self.span_start = run_start[entity]
    self.span_length = (run_end - run_start)[entity]
    self.span_type = labels[run_start][entity]
    self.sentence_words = np.fromiter(map(len, sentences), np.int64, len(sentences))
    sentence_bytes = np.fromiter(map(len, pieces[::2]), np.int64, len(sentences)) + 1
    self.sentence_start = np.concatenate([[0], np.cumsum(sentence_bytes)[:-1]]).astype(np.int64)
    self.word_length = np.fromiter((len(t.encode("utf-8")) for s in sentences for t in s.tokens),
                                   np.int64, int(self.sentence_words.sum()))
    self.word_start = np.concatenate([[0], np.cumsum(self.word_length + 1)[:-1]]).astype(np.int64)

  def __len__(self) -> int:
    return len(self.bytes)


def eval_window_starts(num_bytes: int, window: int, stride: int) -> np.ndarray:
  """The test windows' starts (the original's): 0, stride, ... up to the first that reaches the
  stream's end; none for an empty stream."""
  if stride < 1 or stride > window:
    raise errors.UserError(f"the BTS test stride must be in 1..{window} (the window), got {stride}")
  if not num_bytes:
    return np.zeros(0, np.int64)
  return stride * np.arange(math.ceil(max(num_bytes - window, 0) / stride) + 1, dtype=np.int64)


def unreachable_entities(stream: ByteStream, window: int, stride: int) -> dict[str, int]:
  """Gold entities of `stream` that no test window holds whole (they can never be predicted):
  `entities`, `entities_longer_than_window` and `entities_in_no_window` (the longer ones
  included)."""
  starts = eval_window_starts(len(stream), window, stride)
  ends = np.minimum(starts + window, len(stream))
  # The last window starting at or before a span holds it whole if any window does.
  last = np.searchsorted(starts, stream.span_start, side="right") - 1
  held = stream.span_start + stream.span_length <= ends[np.maximum(last, 0)]
  return {"entities": len(stream.span_start),
          "entities_longer_than_window": int(np.sum(stream.span_length > window)),
          "entities_in_no_window": int(np.sum(~held))}


class Windows:
  """Windows over one or more streams (one per language) laid end to end; `batch` builds the
  padded batch of some windows, each given by its start in the joint buffer. A window never
  crosses its stream's end."""

  num_truncated = 0  # a window cuts no sentence short: `TrainBatches` reports this

  def __init__(self, streams: Sequence[ByteStream], vocabulary: Vocabulary,
               langs: Sequence[int] | None = None):
    """`langs`: each stream's language index (default 0, 1, ...)."""
    self.vocabulary = vocabulary
    self.window = vocabulary.window
    self.langs = np.asarray(range(len(streams)) if langs is None else langs, np.int32)
    sizes = np.fromiter(map(len, streams), np.int64, len(streams))
    self.stream_begin = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    self.stream_end = self.stream_begin + sizes
    self.bytes = np.concatenate([np.zeros(0, np.uint8), *(s.bytes for s in streams), [0]])
    # Spans of all streams, then a sentinel past every window (a safe index for empty slots).
    sentinel = np.iinfo(np.int64).max // 2
    self.span_start = np.concatenate(
        [s.span_start + b for s, b in zip(streams, self.stream_begin)] + [[sentinel]])
    self.span_end = self.span_start + np.concatenate(
        [s.span_length for s in streams] + [[0]])
    self.span_type = np.append(vocabulary.type_ids(
        np.concatenate([np.zeros(0, str)] + [s.span_type for s in streams])), 0)

  def __len__(self) -> int:
    return int(self.stream_end[-1]) if len(self.stream_end) else 0

  def batch(self, starts: np.ndarray, batch_size: int, span_buckets: Sequence[int],
            num_shards: int = 1, part: batches.Part = batches.WHOLE) -> dict[str, np.ndarray]:
    """The padded batch of the windows starting at `starts` (at most `batch_size`; the rest are
    empty rows), or its rows of `part` (`batches.part_rows`); `span_buckets` as `TrainBatches`'
    length buckets."""
    if len(starts) > batch_size:
      raise ValueError(f"{len(starts)} windows do not fit a batch of {batch_size}")
    mine = batches.part_rows(batch_size, num_shards, part)
    real = len(starts)
    stream = np.searchsorted(self.stream_begin, starts, side="right") - 1
    starts = np.pad(np.asarray(starts, np.int64), (0, batch_size - real))
    ends = np.pad(np.minimum(starts[:real] + self.window, self.stream_end[stream]),
                  (0, batch_size - real))

    # Spans inside [start, end): sorted by start and disjoint, so their ends are sorted too and
    # they are the indices first..last-1 below. K counts every part's windows.
    first = np.searchsorted(self.span_start, starts, side="left")
    last = np.searchsorted(self.span_end, ends, side="right")
    count = np.where(np.arange(batch_size) < real, np.maximum(last - first, 0), 0)
    spans = batches.bucket_for(int(count.max(initial=0)), batches.eval_length_buckets(
        span_buckets, int(count.max(initial=0))))
    lang = np.zeros(batch_size, np.int32)
    lang[:real] = self.langs[stream]
    starts, ends, last, count, lang = (column[mine] for column in (starts, ends, last, count, lang))
    rows = len(starts)
    lengths = (ends - starts).astype(np.int32)
    positions = np.arange(self.window)
    index = np.where(positions < lengths[:, None], starts[:, None] + positions, len(self.bytes) - 1)
    order = last[:, None] - 1 - np.arange(spans)  # descending starts
    inside = np.arange(spans) < count[:, None]
    order = np.where(inside, order, 0)
    vocabulary = self.vocabulary
    triples = np.stack([vocabulary.first_start + self.span_start[order] - starts[:, None],
                        vocabulary.first_length + self.span_end[order] - self.span_start[order] - 1,
                        vocabulary.first_type + self.span_type[order]], axis=-1)
    triples = np.where(inside[..., None], triples, Vocabulary.STOP).reshape(rows, 3 * spans)
    return {"bytes": self.bytes[index].astype(np.int32),
            "lengths": lengths,
            "lang": lang,
            "targets": np.pad(triples, ((0, 0), (0, 1))).astype(np.int32),  # STOP is 0
            "target_lengths": np.where(lengths > 0, 3 * count + 1, 0).astype(np.int32)}


class WindowTrainBatches(batches.TrainBatches):
  """`batches.TrainBatches`' interface (epoch plans, packing, `num_shards`) over sampled
  training windows (module docstring): `batches_per_epoch` = ceil(slots / batch_size), slots = sum
  over languages of ceil(bytes / W). The mixture weighs languages by their slots."""

  def __init__(self, languages: Mapping[str, Sequence[conll.Sentence]], vocabulary: Vocabulary, *,
               batch_size: int, mixture: mixture_lib.Mixture | None = None, seed: int = 0,
               num_epochs: int | None = None,
               span_buckets: Sequence[int] = DEFAULT_SPAN_BUCKETS, num_shards: int = 1):
    # The attributes that TrainBatches' methods read, with `Windows` as `packed`.
    groups = self._start(languages, batch_size=batch_size, mixture=mixture, seed=seed,
                         num_epochs=num_epochs, num_shards=num_shards)
    self.streams = [ByteStream(group) for group in groups]
    self.packed = Windows(self.streams, vocabulary)
    self.sizes = [math.ceil(len(stream) / vocabulary.window) for stream in self.streams]
    self.mixture.probabilities(self.sizes)  # fails early on an empty language
    self.length_buckets = batches.normalise_buckets(span_buckets, "span_buckets")

  def epoch_plan(self, epoch: int) -> list[np.ndarray]:
    """The window starts (in the joint buffer) of each batch of an epoch."""
    packed = self.packed
    order = self.mixture.epoch_order(self.sizes, self.seed, epoch)
    stream, slot = order[:, 0], order[:, 1] * packed.window
    slot_bytes = np.minimum(packed.window,
                            packed.stream_end[stream] - packed.stream_begin[stream] - slot)
    rng = np.random.default_rng([self.seed, epoch, _WINDOW_START_STREAM])
    offset = np.floor(rng.random(len(order)) * slot_bytes).astype(np.int64)
    starts = packed.stream_begin[stream] + slot + offset
    return [starts[i:i + self.batch_size] for i in range(0, len(starts), self.batch_size)]


class WindowEvalBatches:
  """Every test window (stride `stride`) of one language's sentences, in stream order.

  `batches.EvalBatches`' interface with windows as rows: iterating yields the batches,
  `indices[i][r]` is the window of batch i's row r (-1 for a padding row), `starts` the windows'
  starts in `stream`. `word_tags` turns the decoder's outputs back into word tags, resolving
  overlapping spans by `conflicts` (`SPAN_CONFLICTS`). `fitted`: fewer windows than `batch_size`
  go in a batch of the rows they need (`batches.fitted_rows`).
  """

  def __init__(self, sentences: Sequence[conll.Sentence], vocabulary: Vocabulary, *,
               batch_size: int, lang: int = 0, stride: int = DEFAULT_EVAL_STRIDE,
               span_buckets: Sequence[int] = DEFAULT_SPAN_BUCKETS, num_shards: int = 1,
               fitted: bool = False, conflicts: str = SPAN_CONFLICTS[0]):
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if conflicts not in SPAN_CONFLICTS:
      raise errors.UserError(f"config.data.span_conflicts: unknown rule {conflicts!r} (expected "
                             f"one of {', '.join(map(repr, SPAN_CONFLICTS))})")
    self.conflicts = conflicts
    batches.check_num_shards(batch_size, num_shards)
    self.num_shards = num_shards
    self.vocabulary = vocabulary
    self.span_buckets = batches.normalise_buckets(span_buckets, "span_buckets")
    self.stream = ByteStream(sentences)
    self.windows = Windows([self.stream], vocabulary, langs=[lang])
    self.starts = eval_window_starts(len(self.stream), vocabulary.window, stride)
    rows = np.arange(len(self.starts))
    self.batch_size = (batches.fitted_rows(len(rows), num_shards, batch_size) if fitted
                       else batch_size)
    self._rows = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    self.indices = [np.pad(r, (0, self.batch_size - len(r)), constant_values=-1)
                    for r in self._rows]

  def __len__(self) -> int:
    return len(self._rows)

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    for rows in self._rows:
      yield self.windows.batch(self.starts[rows], self.batch_size, self.span_buckets,
                               num_shards=self.num_shards)

  def word_tags(self, outputs: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[list[str]]:
    """Word IOB2 tags of every sentence from the decoder's outputs, per batch in order its token
    rows [B, 3K+1] and their log-probabilities [B, 3K+1] (`model.Decoded`): the windows' spans
    stitched as the module docstring says."""
    return word_tags(self.stream, *self._stitched(outputs)[:3])

  def entity_scores(self, outputs: Sequence[tuple[np.ndarray, np.ndarray]]
                    ) -> list[tuple[list[str], list[float]]]:
    """Per sentence: `word_tags`, and for each of its entities the probability of the span its
    first word took its tag from: the product of the decoder's probabilities of that span's
    (start, length, type) tokens (`model.Decoded.token_log_probs`) in its window."""
    start, length, type_, log_prob = self._stitched(outputs)
    tags, span = _word_spans(self.stream, start, length, type_)
    bounds = np.cumsum(self.stream.sentence_words)
    result = []
    for words, end in zip(self.stream.sentence_words.tolist(), bounds.tolist()):
      sentence = tags[end - words:end]
      result.append((sentence, [float(np.exp(log_prob[span[end - words + first]]))
                                for _, first, _ in tags_lib.spans(sentence)]))
    return result

  def _stitched(self, outputs: Sequence[tuple[np.ndarray, np.ndarray]]
                ) -> tuple[np.ndarray, ...]:
    """The surviving spans of the windows' outputs, sorted by start: absolute start, length,
    type name and the log-probability of its triple."""
    window_ids, starts, lengths, types, log_probs = [], [], [], [], []
    for (batch_tokens, batch_log_probs), indices in zip(outputs, self.indices):
      real = indices >= 0
      count, start, length, type_ = self.vocabulary.spans(np.asarray(batch_tokens)[real])
      inside = np.arange(start.shape[1]) < count[:, None]
      triples = np.asarray(batch_log_probs)[real][:, :3 * start.shape[1]]
      window_ids.append(np.broadcast_to(indices[real][:, None], start.shape)[inside])
      starts.append(start[inside])
      lengths.append(length[inside])
      types.append(type_[inside])
      log_probs.append(triples.reshape(*start.shape, 3).sum(-1)[inside])
    window_ids, starts, lengths, types, log_probs = (
        np.concatenate([np.zeros(0, np.int64), *x])
        for x in (window_ids, starts, lengths, types, log_probs))
    absolute = self.starts[window_ids] + starts
    kept = resolve_conflicts(absolute, lengths,
                             log_probs if self.conflicts == "confidence" else -starts)
    return (absolute[kept], lengths[kept], np.asarray(self.vocabulary.types, str)[types[kept]],
            log_probs[kept])


def resolve_conflicts(start: np.ndarray, length: np.ndarray, priority: np.ndarray) -> np.ndarray:
  """The original's conflict resolution, by any priority: indices of the surviving spans, by
  increasing start.

  Spans (absolute `start`, `length`, `priority`, in the order the windows produced them) are
  sorted by start (stably); a span conflicts with the current survivor when it starts before the
  survivor ends, and then replaces it if its priority is higher (ties: the earlier span stays).
  The first span that does not conflict starts the next group. Survivors never overlap. The
  original's priority is minus the start within the span's own window (`SPAN_CONFLICTS`).
  """
  order = np.argsort(start, kind="stable")
  kept = []
  i = 0
  while i < len(order):
    current = order[i]
    i += 1
    while i < len(order) and start[order[i]] < start[current] + length[current]:
      if priority[order[i]] > priority[current]:
        current = order[i]
      i += 1
    kept.append(current)
  return np.asarray(kept, np.int64)


def word_tags(stream: ByteStream, start: np.ndarray, length: np.ndarray, type_: np.ndarray
              ) -> list[list[str]]:
  """Every sentence's word tags from disjoint spans sorted by start (absolute `start`, `length`,
  type names `type_`), as the original maps spans to words (module docstring)."""
  tags, _ = _word_spans(stream, start, length, type_)
  bounds = np.cumsum(stream.sentence_words)
  return [tags[end - n:end] for n, end in zip(stream.sentence_words.tolist(), bounds.tolist())]


def _word_spans(stream: ByteStream, start: np.ndarray, length: np.ndarray, type_: np.ndarray
                ) -> tuple[list[str], np.ndarray]:
  """`word_tags` of all the stream's words in one list, and each word's span (the nearest one
  starting at or before it; -1 for none)."""
  # A sentinel span before the stream: words with no span starting at or before them find it.
  start, length = np.concatenate([[-2], start]), np.concatenate([[0], length])
  type_ = np.concatenate([[""], np.asarray(type_, str)])
  nearest = np.searchsorted(start, stream.word_start, side="right") - 1
  inside = stream.word_start + stream.word_length <= start[nearest] + length[nearest]
  types = np.where(inside, type_[nearest], "")
  begins = start[nearest] >= stream.word_start - 1
  bounds = np.cumsum(stream.sentence_words)
  first_word = np.zeros(len(types), bool)
  first_word[(bounds - stream.sentence_words)[stream.sentence_words > 0]] = True
  previous = np.concatenate([[""], types[:-1]])
  continues = ~begins & ~first_word & (previous == types)
  tags = [tags_lib.OUTSIDE if not is_inside else ("I-" if is_continued else "B-") + name
          for is_inside, is_continued, name in zip(inside.tolist(), continues.tolist(),
                                                   types.tolist())]
  return tags, nearest - 1
