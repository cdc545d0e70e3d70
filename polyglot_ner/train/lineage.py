"""`polyglot-ner lineage W`: the chain of runs a checkpoint was fine-tuned from, child first.

  polyglot-ner lineage runs/poly-ft-es
  polyglot-ner lineage runs/poly-ft-es/checkpoints/latest

W is a workdir (its best checkpoint, else its latest) or a checkpoint path. Every fine-tuned run's
meta holds its parent's record, which holds the parent's own (`polyglot_ner.train.finetune`), so
the chain prints from W alone, even when the ancestors' workdirs have moved. One line per run:
workdir, checkpoint kind and step, dev macro F1 of that checkpoint, languages.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from polyglot_ner.train import checkpoint as checkpoint_lib

USAGE = """usage: polyglot-ner lineage W

W: a run workdir or a checkpoint path (W/checkpoints/best/<step>, W/checkpoints/latest).
Prints the run and the runs it was fine-tuned from, child first."""


def lineage(path: str | os.PathLike) -> list[dict[str, Any]]:
  """The run at `path` then its ancestors, each {workdir, kind, step, languages, dev_scores}."""
  workdir, kind, step = checkpoint_lib.locate(path)
  with checkpoint_lib.Checkpoints(workdir, read_only=True) as checkpoints:
    if step is None and kind == checkpoint_lib.BEST and checkpoints.step(kind) is None:
      kind = checkpoint_lib.LATEST  # a run that has not evaluated yet
    meta = checkpoints.meta(kind, step)
  chain = [{"workdir": os.fspath(workdir), "kind": kind, "step": meta["step"],
            "languages": meta["languages"], "dev_scores": meta["dev_scores"],
            "parent": meta["parent"]}]
  while chain[-1]["parent"]:
    chain.append(chain[-1]["parent"])
  return [{key: run[key] for key in ("workdir", "kind", "step", "languages", "dev_scores")}
          for run in chain]


def format_lineage(chain: list[dict[str, Any]]) -> str:
  """One line per run, each ancestor indented under its child."""
  lines = []
  for depth, run in enumerate(chain):
    f1 = "-" if run["dev_scores"] is None else f"{100 * run['dev_scores']['macro_f1']:.2f}"
    lines.append(f"{'  ' * depth}{'<- ' if depth else ''}{run['workdir']}  {run['kind']} step "
                 f"{run['step']}  dev macro F1 {f1}  {'+'.join(run['languages'])}")
  return "\n".join(lines)


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner lineage`."""
  if "-h" in argv or "--help" in argv:
    print(USAGE)
    return 0
  if len(argv) != 1 or argv[0].startswith("-"):
    print(f"{USAGE}\npolyglot-ner lineage: error: expected one workdir or checkpoint path, got "
          f"{argv}", file=sys.stderr)
    return 2
  print(format_lineage(lineage(argv[0])))
  return 0
