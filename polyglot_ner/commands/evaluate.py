"""`polyglot-ner evaluate`: score a trained run's checkpoint on every language of a split.

  polyglot-ner evaluate --workdir runs/x [--split test] [--checkpoint best] [--data_root DIR]

Prints a table of per-language precision, recall and F1 with the macro average, conlleval's report
of each language (as `polyglot-ner score` prints it for the predictions), then the full scores (per
entity type, micro, macro) as one JSON line.
"""

from __future__ import annotations

import json

from absl import flags

from polyglot_ner.commands import flags as flags_lib
from polyglot_ner.data import corpora
from polyglot_ner.eval import tables


def _define(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  flags_lib.define_run(flag_values)
  flags.DEFINE_enum("split", "test", list(corpora.SPLITS), "split to score",
                    flag_values=flag_values)
  flags.DEFINE_string("data_root", None, "data root (default: the run's config.data.root)",
                      flag_values=flag_values)


def _evaluate(flag_values: flags.FlagValues, args: list[str]) -> int:
  del args  # none
  from polyglot_ner import runs  # pylint: disable=import-outside-toplevel
  run = runs.load(flag_values.workdir, flag_values.checkpoint)
  scores = run.evaluate(split=flag_values.split, data_root=flag_values.data_root)
  print(f"{flag_values.workdir}: {run.checkpoint} checkpoint (step {run.step}), "
        f"{flag_values.split} split")
  print(tables.format_scores(scores))
  print()
  print(tables.format_reports(scores), end="")
  print(json.dumps(scores))
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner evaluate`."""
  return flags_lib.run_command("polyglot-ner evaluate", argv, _evaluate, define=_define,
                               required=("workdir",), description=__doc__)
