"""`polyglot-ner score`: conlleval, for files of `token ... gold predicted` lines.

  polyglot-ner score runs/es/predictions/test/conll2002_es.txt
  polyglot-ner score < predictions.txt                # no FILE, or `-`: stdin
  polyglot-ner score -d '\\t' -r -o NONE -l FILE

Prints conlleval's report byte for byte (`polyglot_ner.eval.conlleval`): the last two fields of a
line are the gold and the predicted tag, a blank line or a `-X-` line ends a sentence. Its options:
`-d` the field delimiter (a regular expression, default one space), `-r` raw tags without B-/I-
prefix (each token a chunk), `-o` the outside tag of raw tags, `-l` the LaTeX table. IOBES tags are
scored as their IOB2 spans. With several files, each report follows a `==> FILE <==` line.
"""

from __future__ import annotations

import sys

from absl import flags

from polyglot_ner.commands import flags as flags_lib
from polyglot_ner.data import conll
from polyglot_ner.eval import conlleval

STDIN = "-"


def _define(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  flags.DEFINE_string("delimiter", " ", "field delimiter, a regular expression (conlleval -d)",
                      short_name="d", flag_values=flag_values)
  flags.DEFINE_bool("raw", False, "tags without B-/I- prefix, one chunk per token (conlleval -r)",
                    short_name="r", flag_values=flag_values)
  flags.DEFINE_string("outside", "O", "outside tag of raw tags (conlleval -o)", short_name="o",
                      flag_values=flag_values)
  flags.DEFINE_bool("latex", False, "print the LaTeX table (conlleval -l)", short_name="l",
                    flag_values=flag_values)


def _score(flag_values: flags.FlagValues, paths: list[str]) -> int:
  paths = paths or [STDIN]
  for index, path in enumerate(paths):
    source = "<stdin>" if path == STDIN else path
    text = (conll.decode(sys.stdin.buffer.read(), source) if path == STDIN
            else conll.read_text(path))
    gold, pred = conlleval.read(text, source,
                                delimiter=flag_values.delimiter, raw=flag_values.raw,
                                outside=flag_values.outside)
    if len(paths) > 1:
      print(f"{'' if index == 0 else chr(10)}==> {path} <==")
    sys.stdout.write(conlleval.report(conlleval.score(gold, pred), latex=flag_values.latex))
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner score`."""
  return flags_lib.run_command("polyglot-ner score", argv, _score, define=_define,
                               positional=("[FILE...]",), description=__doc__)
