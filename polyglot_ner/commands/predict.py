"""`polyglot-ner predict`: tag a CoNLL file or raw text with a trained run.

  polyglot-ner predict --workdir runs/x --input in.conll --output out.conll [--lang conll2002/es]
      [--format conll|text] [--encoding latin-1]

`--format conll` (the default): an input with tags (`token ... tag`) is written as conlleval input,
`token gold pred`, its gold tags normalised to IOB2 as training does; an input of tokens only (one
column) is written as `token pred`; `-DOCSTART-` lines are skipped. A file of the corpus registry
(e.g. `<root>/wikiann/sw/test.txt.gz`) is read exactly as training reads it, so WikiANN's `sw:`
token prefixes are stripped and the predictions equal the run's own. `--format text`: one sentence
per line, split at whitespace, written as `token pred` lines, a blank line after each sentence.
`--encoding` sets the input's encoding (default: the registry's, else UTF-8). `--lang` picks the
`lang` id the batches carry (default: the run's first language).

`--output_format jsonl` (the default for an output name ending in `.jsonl`): one JSON object per
input line (a CoNLL sentence: its tokens joined by one space), `{"text": line, "entities":
[{"start", "end", "type", "text", "score"}, ...]}` with offsets into the line (`run.entities`);
text is then tokenised CoNLL-style (`--notokenize`: split at whitespace only). `--tokenize` also
splits text that way for `token pred` output.
"""

from __future__ import annotations

from typing import Any

from absl import flags

from polyglot_ner.commands import flags as flags_lib
from polyglot_ner.data import conll
from polyglot_ner.data import inputs
from polyglot_ner.eval import entities as entities_lib
from polyglot_ner.eval import predictions as predictions_lib


def _define(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  flags_lib.define_run(flag_values)
  flags.DEFINE_string("input", None, "file to tag: CoNLL (tags optional) or text, see --format",
                      flag_values=flag_values)
  flags.DEFINE_string("output", None, "where to write the predictions", flag_values=flag_values)
  flags.DEFINE_enum("format", "conll", list(inputs.FORMATS),
                    "input format: CoNLL columns, or text with one sentence per line",
                    flag_values=flag_values)
  flags_lib.define_encoding(
      flag_values, "input encoding (default: the corpus registry's for its files, else utf-8)")
  flags.DEFINE_string("lang", None, "language of the input, one of the run's languages",
                      flag_values=flag_values)
  flags.DEFINE_enum("output_format", None, list(inputs.OUTPUT_FORMATS),
                    "token lines, or entities as JSON lines (default: jsonl for *.jsonl output)",
                    flag_values=flag_values)
  flags.DEFINE_bool("tokenize", None, "split text CoNLL-style, punctuation apart from words "
                    "(default: for jsonl output only)", flag_values=flag_values)


def _predict(flag_values: flags.FlagValues, args: list[str]) -> int:
  del args  # none
  from polyglot_ner import runs  # pylint: disable=import-outside-toplevel
  flags_lib.check_output(flag_values.output, flag_values.input)
  if inputs.output_format(flag_values.output, flag_values.output_format) == "jsonl":
    return _predict_entities(flag_values, runs.load(flag_values.workdir, flag_values.checkpoint))
  sentences, with_gold = inputs.read_input(flag_values.input, flag_values.format,
                                           flag_values.encoding,
                                           tokenize=bool(flag_values.tokenize))
  run = runs.load(flag_values.workdir, flag_values.checkpoint)
  predicted = run.tag(sentences, flag_values.lang)
  if with_gold:
    predictions_lib.write_predictions(flag_values.output, sentences, predicted)
  else:
    conll.write_conll(flag_values.output,
                      [conll.Sentence(s.tokens, tuple(p)) for s, p in zip(sentences, predicted)])
  print(f"tagged {len(sentences)} sentences of {flag_values.input} -> {flag_values.output}")
  return 0


def _predict_entities(flag_values: flags.FlagValues, run: Any) -> int:
  """`--output_format jsonl`: the entities of every input line."""
  lines = inputs.read_lines(flag_values.input, flag_values.format, flag_values.encoding)
  tokenize = flag_values.format == "text" and flag_values.tokenize is not False
  found = run.entities(lines, flag_values.lang, tokenize=tokenize)
  entities_lib.write_jsonl(flag_values.output, lines, found)
  print(f"found {sum(map(len, found))} entities in {len(lines)} lines of {flag_values.input} "
        f"-> {flag_values.output}")
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner predict`."""
  return flags_lib.run_command("polyglot-ner predict", argv, _predict, define=_define,
                               required=("workdir", "input", "output"), description=__doc__)
