"""`polyglot-ner predict`: tag a CoNLL file with a trained run.

  polyglot-ner predict --workdir runs/x --input in.conll --output out.conll [--lang conll2002/es]

An input with tags (`token ... tag`) is written as conlleval input, `token gold pred`, its tags
kept as the gold column; an input of tokens only (one column) is written as `token pred`.
`--lang` picks the `lang` id the batches carry (default: the run's first language).
"""

from __future__ import annotations

import os

from absl import flags

from polyglot_ner.data import conll
from polyglot_ner.eval import predictions as predictions_lib
from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import cli


def _define(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  flags.DEFINE_string("workdir", None, "run directory written by `polyglot-ner train`",
                      flag_values=flag_values)
  flags.DEFINE_string("input", None, "CoNLL file to tag (tags optional)", flag_values=flag_values)
  flags.DEFINE_string("output", None, "where to write the predictions", flag_values=flag_values)
  flags.DEFINE_enum("checkpoint", checkpoint_lib.BEST, list(checkpoint_lib.KINDS),
                    "which checkpoint to use", flag_values=flag_values)
  flags.DEFINE_string("lang", None, "language of the input, one of the run's languages",
                      flag_values=flag_values)


def read_tokens_only(path: str | os.PathLike) -> list[tuple[str, ...]]:
  """Sentences of a one-column file (a token per line, a blank line between sentences)."""
  sentences, tokens = [], []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate([*f, "\n"], 1):
      fields = line.split()
      if len(fields) > 1:
        raise ValueError(f"{os.fspath(path)}:{number}: a tokens-only file has one column, "
                         f"got {line!r}")
      if fields:
        tokens.append(fields[0])
      elif tokens:
        sentences.append(tuple(tokens))
        tokens = []
  if not sentences:
    raise ValueError(f"{os.fspath(path)}: no sentences found (empty file?)")
  return sentences


def _has_tags(path: str | os.PathLike) -> bool:
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      if line.strip():
        return len(line.split()) > 1
  return False


def _predict(flag_values: flags.FlagValues) -> int:
  from polyglot_ner.train import inference  # pylint: disable=import-outside-toplevel
  run = inference.TrainedRun.load(flag_values.workdir, flag_values.checkpoint)
  languages = run.meta["languages"]
  lang = flag_values.lang or languages[0]
  if lang not in languages:
    raise ValueError(f"--lang {lang!r} is not one of the run's languages {languages}")
  with_gold = _has_tags(flag_values.input)
  if with_gold:
    sentences = conll.read_conll(flag_values.input,
                                 encoding=conll.detect_encoding(flag_values.input))
  else:
    sentences = [conll.Sentence(tokens, ("O",) * len(tokens))
                 for tokens in read_tokens_only(flag_values.input)]
  tagger = run.tagger()
  predicted = tagger.tag(run.params, tagger.batches(sentences, lang=languages.index(lang)))
  if with_gold:
    predictions_lib.write_predictions(flag_values.output, sentences, predicted)
  else:
    conll.write_conll(flag_values.output,
                      [conll.Sentence(s.tokens, tuple(p)) for s, p in zip(sentences, predicted)])
  print(f"tagged {len(sentences)} sentences of {flag_values.input} -> {flag_values.output}")
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner predict`."""
  return cli.run_command("polyglot-ner predict", argv, _define, ("workdir", "input", "output"),
                         _predict)
