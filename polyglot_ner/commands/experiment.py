"""`polyglot-ner experiment`: the paper's mono / polyglot / polyglot+FT protocol in one command.

  polyglot-ner experiment --config configs/experiment.py --workdir runs/exp_demo
  polyglot-ner experiment \\
      --config configs/experiment.py:langs=conll2003/en+conll2002/es+conll2002/nl,cpu \\
      --workdir runs/exp [--config.seeds=0,1,2 --config.finetune.num_epochs=4 ...]

Rerunning the same command skips finished runs, resumes an interrupted one and rewrites the
results. The runs share the model's shapes, so the persistent compilation cache that training turns
on (`polyglot_ner.train.compilation_cache`) compiles each program once.
"""

from __future__ import annotations

import os

from absl import flags

from polyglot_ner.commands import flags as flags_lib

RESULTS_FILES = ("results.json", "results.md", "results.png")


def _run(flag_values: flags.FlagValues, args: list[str]) -> int:
  del args  # none
  from polyglot_ner.study import experiment  # pylint: disable=import-outside-toplevel
  from polyglot_ner.study import report as experiment_report  # pylint: disable=import-outside-toplevel
  results = experiment.run_experiment(flag_values.config, flag_values.workdir)
  print(f"\nwrote {', '.join(os.path.join(flag_values.workdir, name) for name in RESULTS_FILES)}"
        f"\n\n{experiment_report.markdown(results)}")
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner experiment`."""
  define = flags_lib.config_and_workdir_flags(
      "experiment config file and arg, e.g. "
      "configs/experiment.py:langs=conll2002/es+conll2002/nl,cpu",
      "experiment directory (one workdir per run inside)")
  return flags_lib.run_command("polyglot-ner experiment", argv, _run, define=define,
                               required=("config", "workdir"), description=__doc__)
