"""`polyglot-ner report W...`: the paper's main table over several experiments, one per model kind.

  polyglot-ner report runs/exp_conll_conv runs/exp_charner_conv runs/exp_bts_conv

Each W is an experiment directory of `polyglot-ner experiment`, read as far as it got (unfinished
runs show as "–"; see `polyglot_ner.study.models_report`). Prints Markdown: rows mono / polyglot /
polyglot+FT with a column group per experiment, the paired bootstrap of the paper's two findings,
every run's epochs and training time, and a verdict per model and finding.
"""

from __future__ import annotations

from absl import flags

from polyglot_ner.commands import flags as flags_lib


def _report(flag_values: flags.FlagValues, args: list[str]) -> int:
  del flag_values  # none
  from polyglot_ner.study import models_report  # pylint: disable=import-outside-toplevel
  print(models_report.markdown([models_report.load(workdir) for workdir in args]), end="")
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner report`."""
  return flags_lib.run_command("polyglot-ner report", argv, _report, positional=("W...",),
                               description=__doc__)
