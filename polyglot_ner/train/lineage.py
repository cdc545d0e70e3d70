"""The chain of runs a checkpoint was fine-tuned from, child first (`polyglot-ner lineage`).

Every fine-tuned run's meta holds its parent's record, which holds the parent's own
(`polyglot_ner.train.finetune`), so the chain is read from one checkpoint alone, even when the
ancestors' workdirs have moved.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from polyglot_ner.train import checkpoint as checkpoint_lib


def lineage(path: str | os.PathLike) -> list[dict[str, Any]]:
  """The run at `path` then its ancestors, each {workdir, slot, step, languages, dev_scores}.

  `path` is a run workdir (its best checkpoint, else its latest) or a checkpoint path
  (W/checkpoints/best/<step>, W/checkpoints/latest). A checkpoint whose meta reads back but whose
  other files are damaged is shown after a warning on stderr."""
  workdir, slot, step = checkpoint_lib.locate(path)
  with checkpoint_lib.Checkpoints(workdir, read_only=True) as checkpoints:
    if step is None and slot == checkpoint_lib.BEST and checkpoints.step(slot) is None:
      slot = checkpoint_lib.LATEST  # a run that has not evaluated yet
    meta = checkpoints.meta(slot, step)
    damage = checkpoints.damage(slot, step)
  if damage:  # the meta read back, but the parameters would not
    print(f"warning: the {slot} checkpoint {checkpoints.path(slot, step)} is damaged: {damage}",
          file=sys.stderr, flush=True)
  chain = [{"workdir": os.fspath(workdir), "slot": slot, "step": meta["step"],
            "languages": meta["languages"], "dev_scores": meta["dev_scores"],
            "parent": meta["parent"]}]
  while chain[-1]["parent"]:
    chain.append(chain[-1]["parent"])
  # A parent record written before the slot had its name calls it "kind".
  return [{"workdir": run["workdir"], "slot": run.get("slot", run.get("kind")), "step": run["step"],
           "languages": run["languages"], "dev_scores": run["dev_scores"]} for run in chain]


def format_lineage(chain: list[dict[str, Any]]) -> str:
  """One line per run, each ancestor indented under its child."""
  lines = []
  for depth, run in enumerate(chain):
    f1 = "-" if run["dev_scores"] is None else f"{100 * run['dev_scores']['macro_f1']:.2f}"
    lines.append(f"{'  ' * depth}{'<- ' if depth else ''}{run['workdir']}  {run['slot']} step "
                 f"{run['step']}  dev macro F1 {f1}  {'+'.join(run['languages'])}")
  return "\n".join(lines)

