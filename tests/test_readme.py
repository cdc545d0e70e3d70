"""README.md is a contract (project issue 9): the commands of its ```bash blocks run as written.

The blocks are read from README.md at collection time, so a README edit is tested without touching
this file. Each command is either run or listed in SKIPPED with the reason, and a command that is
neither fails `test_every_command_is_run_or_skipped`: a new README command cannot slip by.

A block runs in a temporary directory laid out like the repository root (`configs/` and
`launch/` linked in, `../shared/data` beside it, `sentences.txt` standing for the reader's own
text), its commands in order (`evaluate` needs the run `train` wrote), with the relative paths
as written, so that `runs/es` never touches a reader's runs. Blocks that run the same training
command (the quickstart's experiment again before its analysis, the Spanish run again before its
entities) share one directory, as a reader following the README would: the block that comes
second runs the command as written too, on the finished run, which trains nothing again
(`workspace_groups`; run alone, a block trains its runs itself). Runs are shrunk by flags appended to
the command (APPENDED) and by `../shared/data` holding the real corpus files cut to their first
SMALL_SPLIT sentences (same formats, encodings and compression; evaluating the full dev and test
sets took most of the time; tests/data reads every real file in full), and each command's exit
status and key outputs are checked (CHECKS).
The commands inherit tests/conftest.py's environment: CPU, and the tests' compilation cache.
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
from collections.abc import Callable

import pytest

from polyglot_ner.study import report as experiment_report

REPO = pathlib.Path(__file__).resolve().parents[1]
README = REPO / "README.md"
REPO_PIECES = ("configs", "launch")  # what the run commands read from the repository root
# Files a command reads that the README leaves to the reader.
READER_FILES = {"sentences.txt": "El Real Madrid jugó en Sevilla contra el Betis .\n"
                                 "Ana Botella vive en Barcelona\n",
                "es.pred.txt": "Ana B-PER B-PER\nBotella I-PER I-PER\nvive O O\nen O O\n"
                               "Barcelona B-LOC B-ORG\n\nEl O O\nBetis B-ORG B-ORG\n"}

# Command prefix (after leading `NAME=value` assignments) -> why the test does not run it.
SKIPPED = {
    "pip install": "changes the environment the tests run in",
    "python -m pytest": "runs the test suite this module is part of",
    "python benchmarks/": "measures speed at full sizes, minutes per benchmark",
    "benchmarks/accelerator.sh": "measures on a GPU at full sizes",
    "launch/local.sh": "trains every run of a sweep; tests/launch/test_local.py runs the runner",
    "sbatch": "needs SLURM; tests/launch/test_slurm.py runs the script under a fake SLURM",
    "python launch/slurm_submit.py": "needs SLURM; tests/launch/test_slurm.py fakes sbatch",
    "launch/tpu_vm.sh": "needs a Cloud TPU VM; tests/launch/test_tpu_vm.py fakes gcloud",
}

# Tiny training sizes, as `--config.<key>=<value>` of a model config: one epoch of 64 sentences
# per language; tiny model sizes by model config (TINY_MODEL); on real corpora (`langs=` given; the
# demo's own configs already have one small bucket) also one padded length (REAL_DATA_TRAIN: 64
# words, 256 bytes).
TINY_TRAIN = ("num_epochs=1", "data.max_train_sentences=64", "batch_size=16",
              "eval_batch_size=256")
TINY_MODEL = {
    "byte_crf": ("model.byte_emb_dim=8", "model.byte_hidden=8", "model.word_hidden=16",
                 "model.byte_layers=1"),  # one byte BiLSTM layer: the step compiles in 2/3 the time
    "charner": ("model.emb_dim=8", "model.hidden=8", "model.output_dropout=(0.1,)"),
}
REAL_DATA_TRAIN = {"byte_crf": ("data.length_buckets=(64,)",),
                   "charner": ("data.length_buckets=(256,)",)}
SMALL_SPLIT = 100  # sentences kept per corpus file (training reads 64, TINY_TRAIN)
# The prefix of TINY_TRAIN's flags and further flags appended to a run command, by its key
# (`command_key`).
APPENDED = {
    "train": ("--config.", ()),
    "experiment": ("--config.train.",
                   ("--config.finetune.num_epochs=1", "--config.bootstrap.num_samples=10")),
}

_SCRIPT = pathlib.Path(sys.executable).with_name("polyglot-ner")
POLYGLOT_NER = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "polyglot_ner"]


def readme_blocks() -> list[tuple[str, list[list[str]]]]:
  """(id, commands) of every ```bash block; a command is its argv, continuations joined. A
  ```python block runs as `python -c <source>` after the bash block before it."""
  text = README.read_text(encoding="utf-8")
  blocks = []
  for match in re.finditer(r"^```(bash|python)\n(.*?)^```", text, re.M | re.S):
    if match.group(1) == "python":
      blocks[-1][1].append(["python", "-c", match.group(2)])
      continue
    line = text.count("\n", 0, match.start()) + 1
    prose = re.sub(r"^```.*?^```", "", text[:match.start()], flags=re.M | re.S)
    heading = re.findall(r"^#+ (.+)$", prose, re.M)[-1]  # of the section, not a bash comment
    source = match.group(2).replace("\\\n", " ")
    commands = [argv for command in source.splitlines()
                if (argv := shlex.split(command, comments=True))]
    blocks.append((f"line{line}-{re.sub(r'[^a-z]+', '-', heading.lower()).strip('-')}",
                   commands))
  return blocks


def without_assignments(argv: list[str]) -> list[str]:
  """`argv` without its leading `NAME=value` environment assignments."""
  while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
    argv = argv[1:]
  return argv


def skip_reason(argv: list[str]) -> str | None:
  """Why the test does not run `argv` (SKIPPED), None when it is not skipped."""
  command = " ".join(without_assignments(argv))
  return next((why for prefix, why in SKIPPED.items() if command.startswith(prefix)), None)


def command_key(argv: list[str]) -> str | None:
  """What kind of run command `argv` is (a key of CHECKS), None when it is no run command."""
  if argv[0] == "polyglot-ner" and len(argv) > 1:
    return " ".join(argv[1:3]) if argv[1] == "data" else argv[1]
  if argv[:2] == ["python", "launch/sweep.py"]:
    return "sweep"
  if argv[:2] == ["python", "-c"]:
    return "python"
  return None


def flag(argv: list[str], name: str) -> str | None:
  """The value of `--name value` or `--name=value` in `argv`, None without it."""
  for i, arg in enumerate(argv):
    if arg == f"--{name}":
      return argv[i + 1]
    if arg.startswith(f"--{name}="):
      return arg.partition("=")[2]
  return None


def model_config(argv: list[str]) -> str:
  """The model config a run command trains: `configs/<model>.py`, or the experiment's
  `model=<model>` (default byte_crf)."""
  config = flag(argv, "config") or ""
  name = re.search(r"(\w+)\.py", config).group(1) if ".py" in config else "byte_crf"
  if name == "experiment":
    name = (re.findall(r"model=(\w+)", config) or ["byte_crf"])[-1]
  return name


def appended(key: str, argv: list[str]) -> list[str]:
  """The flags appended to run command `argv` of key `key`: tiny sizes (APPENDED)."""
  if key not in APPENDED:
    return []
  prefix, extra = APPENDED[key]
  model = model_config(argv)
  values = TINY_TRAIN + TINY_MODEL[model] + (
      REAL_DATA_TRAIN[model] if any("langs=" in arg for arg in argv) else ())
  return [prefix + value for value in values] + list(extra)


def positional(argv: list[str]) -> list[str]:
  """The arguments of `argv` that are neither `--options` nor the value of one (every option in
  the README's `data` commands takes a value)."""
  return [arg for i, arg in enumerate(argv) if not arg.startswith("-")
          and not (i and argv[i - 1].startswith("--") and "=" not in argv[i - 1])]


def sentences(path: pathlib.Path) -> list[list[list[str]]]:
  """The sentences of a CoNLL file, each a list of token lines split into columns."""
  blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
  return [[line.split() for line in block.splitlines()] for block in blocks]


def run_predictions(workdir: pathlib.Path) -> list[list[list[str]]]:
  """The predictions files a run wrote for its test sets, each as `sentences`."""
  return [sentences(path) for path in sorted((workdir / "predictions" / "test").glob("*.txt"))]


def check_train(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  workdir = cwd / flag(argv, "workdir")
  results = json.loads((workdir / "results.json").read_text())
  assert json.loads(stdout.strip().splitlines()[-1])["test_macro_f1"] == pytest.approx(
      results["test"]["macro_f1"])
  predictions = run_predictions(workdir)
  assert len(predictions) == len(results["languages"])
  assert all(len(token) == 3 for tagged in predictions for sentence in tagged for token in sentence)


def check_experiment(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  workdir = cwd / flag(argv, "workdir")
  results = json.loads((workdir / "results.json").read_text())
  table = (workdir / "results.md").read_text()
  assert (workdir / "results.png").stat().st_size > 0
  for lang in results["langs"]:
    assert lang in table
  for stage in results["stages"]:  # all of them but in an experiment of some (config.stages)
    row = f"| {experiment_report.ROW_NAMES[stage]} |"
    assert row in table and row in stdout


def check_report(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del argv, cwd
  assert "Every run:" in stdout and "not finished" not in stdout
  for row in ("| mono |", "| polyglot |", "| polyglot+FT |", "| polyglot+FT − mono |"):
    assert row in stdout


def check_evaluate(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del argv, cwd
  assert "macro_f1" in json.loads(stdout.strip().splitlines()[-1])


def check_predict(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del stdout
  if flag(argv, "output").endswith(".jsonl"):
    check_entities(cwd / flag(argv, "input"), cwd / flag(argv, "output"))
    return
  tagged = sentences(cwd / flag(argv, "output"))
  if flag(argv, "format") == "text":
    source = (cwd / flag(argv, "input")).read_text(encoding="utf-8")
    assert [[token[0] for token in sentence] for sentence in tagged] == [
        line.split() for line in source.splitlines() if line.strip()]
    assert all(len(token) == 2 for sentence in tagged for token in sentence)
    return
  assert all(len(token) == 3 for sentence in tagged for token in sentence)
  # A test file of the run is tagged as the run tagged it.
  tokens = [[token[0] for token in sentence] for sentence in tagged]
  for own in run_predictions(cwd / flag(argv, "workdir")):
    if [[token[0] for token in sentence] for sentence in own] == tokens:
      assert tagged == own


def check_lineage(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del cwd
  child, parent = stdout.strip().splitlines()[:2]
  assert os.path.basename(argv[-1]) in child and parent.lstrip().startswith("<- "), stdout


def check_analyze(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  output = cwd / (flag(argv, "output") or f"{flag(argv, 'workdir')}/analysis")
  assert f"wrote {output / 'analysis.md'}" in stdout, stdout
  figures = re.findall(r"\]\(([^)]+\.png)\)", (output / "analysis.md").read_text())
  assert figures and all((output / figure).stat().st_size > 0 for figure in figures)


def check_entities(source: pathlib.Path, output: pathlib.Path) -> None:
  """One JSON line per non-blank input line, its entities' offsets into it."""
  rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
  assert [row["text"] for row in rows] == [
      line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
  for row in rows:
    for entity in row["entities"]:
      assert row["text"][entity["start"]:entity["end"]] == entity["text"]
      assert 0.0 <= entity["score"] <= 1.0 and entity["type"]


def check_python(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del cwd
  printed = [line for line in argv[2].splitlines() if line.startswith("print(")]
  assert len(stdout.strip().splitlines()) >= len(printed), stdout


def check_data_stats(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del cwd
  assert stdout.count("  sentences  ") == len(positional(argv[3:])), stdout


def check_data_validate(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del cwd
  assert stdout.count(": ok (") == len(positional(argv[3:])), stdout


def check_data_convert(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del stdout
  tagged = sentences(cwd / positional(argv[3:])[1])
  assert tagged and all(len(token) == 2 for sentence in tagged for token in sentence)


def check_data_prepare(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  names = positional(argv[3:])
  manifest = json.loads((cwd / flag(argv, "out") / "prepared.json").read_text())
  assert sorted(manifest["languages"]) == sorted(names)
  assert len(stdout.splitlines()) == len(names), stdout


def check_score(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  tokens = sum(len(sentence) for path in positional(argv[2:]) for sentence in sentences(cwd / path))
  assert stdout.startswith(f"processed {tokens} tokens with "), stdout
  assert re.search(r"^accuracy: .*; FB1: +\d+\.\d\d$", stdout, re.M), stdout


def check_sweep(argv: list[str], stdout: str, cwd: pathlib.Path) -> None:
  del stdout
  manifest = cwd / flag(argv, "root") / "manifest.jsonl"
  assert [json.loads(line) for line in manifest.read_text().splitlines()]


# Command key -> check(argv as run, its stdout, the directory it ran in) after exit status 0.
CHECKS: dict[str, Callable[[list[str], str, pathlib.Path], None]] = {
    "train": check_train, "experiment": check_experiment, "evaluate": check_evaluate,
    "predict": check_predict, "lineage": check_lineage, "data stats": check_data_stats,
    "data validate": check_data_validate, "data convert": check_data_convert,
    "data prepare": check_data_prepare,
    "sweep": check_sweep, "python": check_python, "analyze": check_analyze, "score": check_score,
    "report": check_report,
}

def workspace_groups(blocks: list[tuple[str, list[list[str]]]]) -> dict[str, str]:
  """{block id: the id of the first block of its workspace}: blocks that run an identical `train`
  or `experiment` command (as written) share a workspace, and so do blocks that share one with
  the same block."""
  first: dict[str, str] = {}  # block id -> an earlier block of its workspace (itself: the first)
  def root(block_id: str) -> str:
    while first[block_id] != block_id:
      block_id = first[block_id]
    return block_id
  runs: dict[str, str] = {}  # a training command -> the first block that runs it
  for block_id, commands in blocks:
    first[block_id] = block_id
    for argv in commands:
      if command_key(argv) in APPENDED:
        a, b = sorted((root(runs.setdefault(shlex.join(argv), block_id)), root(block_id)),
                      key=list(first).index)
        first[b] = a
  return {block_id: root(block_id) for block_id in first}


BLOCKS = readme_blocks()
WORKSPACES = workspace_groups(BLOCKS)
# `-n 2` runs the blocks of a workspace in one worker, in README order (tests/conftest.py).
RUN_BLOCKS = [pytest.param(commands, id=block_id) for block_id, commands in BLOCKS
              if any(command_key(argv) for argv in commands)]


def test_every_command_is_run_or_skipped():
  problems = []
  for block_id, commands in BLOCKS:
    for argv in commands:
      key = command_key(argv)
      if key is None and skip_reason(argv) is None:
        problems.append(f"{block_id}: neither run nor in SKIPPED: {shlex.join(argv)}")
      if key is not None and key not in CHECKS:
        problems.append(f"{block_id}: no output check in CHECKS for {key!r}")
      if key is not None and any(arg.startswith("/") for arg in argv):
        problems.append(f"{block_id}: an absolute path escapes the test's directory: "
                        f"{shlex.join(argv)}")
  used = {prefix for _, commands in BLOCKS for argv in commands for prefix in SKIPPED
          if " ".join(without_assignments(argv)).startswith(prefix)}
  problems += [f"SKIPPED entry matches no README command: {prefix!r}"
               for prefix in SKIPPED if prefix not in used]
  assert not problems, "\n".join(problems)


def first_sentences(data: bytes, count: int) -> bytes:
  """The lines of CoNLL `data` up to the end of its `count`-th blank-line-separated block."""
  lines = data.splitlines(keepends=True)
  ends = [i for i, (line, after) in enumerate(zip(lines, lines[1:] + [b""]))
          if line.strip() and not after.strip()]
  return data if len(ends) <= count else b"".join(lines[:ends[count - 1] + 2])


@pytest.fixture(scope="session")
def small_data_root(data_root: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
                    ) -> pathlib.Path:
  """`data_root` with every corpus file (`*.txt`, `*.txt.gz`) cut to SMALL_SPLIT sentences."""
  small = tmp_path_factory.mktemp("small_data")
  for path in sorted(data_root.rglob("*")):
    target = small / path.relative_to(data_root)
    if path.is_dir():
      target.mkdir()
    elif path.name.endswith(".txt.gz"):
      target.write_bytes(gzip.compress(first_sentences(gzip.decompress(path.read_bytes()),
                                                       SMALL_SPLIT)))
    elif path.name.endswith(".txt"):
      target.write_bytes(first_sentences(path.read_bytes(), SMALL_SPLIT))
    else:
      target.symlink_to(path)
  return small


def repo_layout(tmp_path: pathlib.Path, data_root: pathlib.Path | None) -> pathlib.Path:
  """A directory laid out like the repository root, with `../shared/data` beside it."""
  root = tmp_path / "repo"
  root.mkdir()
  for piece in REPO_PIECES:
    (root / piece).symlink_to(REPO / piece, target_is_directory=True)
  for name, text in READER_FILES.items():
    (root / name).write_text(text, encoding="utf-8")
  if data_root:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(data_root, target_is_directory=True)
  return root


@pytest.fixture(scope="session")
def workspaces() -> dict[str, pathlib.Path]:
  """{workspace group: its directory}, filled by the group's first block to run."""
  return {}


@pytest.mark.parametrize("commands", RUN_BLOCKS)
def test_readme_block(commands: list[list[str]], tmp_path: pathlib.Path,
                      request: pytest.FixtureRequest, workspaces: dict[str, pathlib.Path]):
  block_id = request.node.callspec.id
  group = WORKSPACES[block_id]
  needs_data = any("../shared/data" in arg for other, block in BLOCKS
                   if WORKSPACES[other] == group for argv in block for arg in argv)
  if group not in workspaces:
    workspaces[group] = repo_layout(
        tmp_path, request.getfixturevalue("small_data_root") if needs_data else None)
  repo_copy = workspaces[group]
  for argv in commands:
    key = command_key(argv)
    if key is None:
      continue  # skipped, see test_every_command_is_run_or_skipped
    argv = argv + appended(key, argv)
    program = POLYGLOT_NER if argv[0] == "polyglot-ner" else [sys.executable]
    result = subprocess.run(program + argv[1:], cwd=repo_copy, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, (
        f"{shlex.join(argv)} exited with {result.returncode}:\n{result.stderr[-3000:]}")
    CHECKS[key](argv, result.stdout, repo_copy)


def package_map() -> dict[str, set[str]]:
  """The README's package map: {folder: its entries (sub-folders end with "/")}, by indentation."""
  block = re.search(r"^## Package map\n.*?^```text\n(.*?)^```", README.read_text(), re.M | re.S)
  entries: dict[str, set[str]] = {}
  parents: list[tuple[int, str]] = []
  for line in block.group(1).splitlines():
    name = line.split()[0]
    if not name.endswith(("/", ".py")):
      continue  # a wrapped description
    depth = len(line) - len(line.lstrip())
    parents = [(d, p) for d, p in parents if d < depth]
    parent = parents[-1][1] if parents else ""
    entries.setdefault(parent, set()).add(name)
    if name.endswith("/"):
      parents.append((depth, parent + name))
  return entries


def test_the_package_map_names_every_package_and_top_level_module():
  mapped = package_map()
  package = REPO / "polyglot_ner"
  assert mapped["polyglot_ner/"] == (
      {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()}
      | {p.name for p in package.glob("*.py")})
  kinds = package / "kinds"
  assert mapped["polyglot_ner/kinds/"] == {f"{p.name}/" for p in kinds.iterdir()
                                           if (p / "__init__.py").is_file()}
  assert {name for name in mapped[""] if name != "polyglot_ner/"} <= {
      f"{p.name}/" for p in REPO.iterdir() if p.is_dir()}
