"""`python -m polyglot_ner <command>` and `polyglot-ner <command>`: one program.

Each command lives in its own module of `polyglot_ner.commands`, exposing `main(argv) -> int`,
all parsing their command line alike (`polyglot_ner.commands.flags`); this file only dispatches,
so importing the CLI never pulls in JAX for commands that do not need it. It is also the one place
where a user error (`polyglot_ner.errors.UserError`: bad data, config, path, checkpoint) becomes
one line on stderr and exit status 1, for every command; `--debug` (anywhere on the command line)
or POLYGLOT_NER_DEBUG=1 shows the traceback instead. Before any command runs, the allocator is set
to keep freed memory (`polyglot_ner.train.host_memory`: ~30% faster training steps on CPUs,
compiling a little slower); POLYGLOT_NER_KEEP_FREED_MEMORY=0 leaves it as it is.
"""

import importlib
import os
import sys

from polyglot_ner import errors
from polyglot_ner.train import host_memory

COMMANDS = {
    "data": ("polyglot_ner.commands.data", "inspect, validate, convert and prepare corpora"),
    "train": ("polyglot_ner.commands.train", "train or resume a run from a config file"),
    "evaluate": ("polyglot_ner.commands.evaluate", "score a trained run on every language"),
    "predict": ("polyglot_ner.commands.predict", "tag a CoNLL file or text with a trained run"),
    "score": ("polyglot_ner.commands.score", "conlleval's report of `token ... gold pred` files"),
    "lineage": ("polyglot_ner.commands.lineage", "print the runs a checkpoint was fine-tuned from"),
    "experiment": ("polyglot_ner.commands.experiment",
                   "mono / polyglot / polyglot+FT runs and one table"),
    "report": ("polyglot_ner.commands.report",
               "one table of several experiments (the paper's models side by side)"),
    "analyze": ("polyglot_ner.commands.analyze", "which parameters languages share; a report"),
}


def usage() -> str:
  lines = ["usage: polyglot-ner <command> [options]", "", "commands:"]
  lines += [f"  {name:<12}{help_}" for name, (_, help_) in COMMANDS.items()]
  lines += ["", "Run `polyglot-ner <command> --help` for a command's options. Errors are one line;",
            "--debug (or POLYGLOT_NER_DEBUG=1) shows their traceback."]
  return "\n".join(lines)


def debugging(argv: list[str]) -> bool:
  """Whether to show tracebacks: `--debug` in `argv` or POLYGLOT_NER_DEBUG set (not to 0)."""
  return "--debug" in argv or os.environ.get("POLYGLOT_NER_DEBUG", "0") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else list(argv)
  debug = debugging(argv)
  argv = [arg for arg in argv if arg != "--debug"]
  if not argv or argv[0] in ("-h", "--help"):
    print(usage(), file=sys.stdout if argv else sys.stderr)
    return 0 if argv else 2
  if argv[0] not in COMMANDS:
    print(f"polyglot-ner: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
    return 2
  host_memory.configure()
  module = importlib.import_module(COMMANDS[argv[0]][0])
  try:
    return module.main(argv[1:])
  except errors.UserError as e:
    if debug:
      raise
    print(f"polyglot-ner {argv[0]}: error: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
  sys.exit(main())
