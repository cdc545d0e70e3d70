"""Test-wide setup: CPU only, four fake devices so that sharding is exercised everywhere, programs
compiled cheaply and once, and a tiny byte CRF config on the demo corpus with one trained run.

Compiling dominates the suite (the tiny programs run in milliseconds), so XLA skips most
optimisations (2-4x faster compiles of the train step) and emits fusions with its loop emitters
rather than its MLIR fusion emitters (half the compile time again), and a persistent compilation
cache (in the system temp directory) lets every process after the first, the commands the tests
run included, load a program instead of compiling it; the commands keep glibc's allocator as it is
(one arena makes steps faster but compiling slower, and tests compile far more than they run, see
`polyglot_ner.train.host_memory`). These are environment variables so that subprocesses inherit
them; a value already set wins. For the same reason the tiny config compiles to as few programs as
possible, the same ones in every test: one padded shape (the learning rate is an input of the
train step, so runs of any rate, schedule or length share it), and runs in one process share their
programs (`polyglot_ner.train.programs`).
"""

import errno
import importlib.util
import os
import pathlib
import re
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4"
                           " --xla_cpu_use_fusion_emitters=false").strip()
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "polyglot_ner_test_jax_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("POLYGLOT_NER_KEEP_FREED_MEMORY", "0")

import pytest  # noqa: E402

from polyglot_ner import config as config_lib  # noqa: E402

DATA_ROOT = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> pathlib.Path:
  """The real corpora of ../shared/data (present in CI); tests needing them skip elsewhere."""
  if not DATA_ROOT.is_dir():
    pytest.skip(f"real data not found at {DATA_ROOT}")
  return DATA_ROOT


# Test files by their time in the default run, longest first (the README's commands ahead of all).
LONGEST_FIRST = ("test_readme.py", "train/test_loop.py", "analysis/test_runs_analysis.py",
                 "models/test_crf.py", "train/test_step.py", "kinds/test_entities.py",
                 "train/test_finetune.py", "kinds/bts/test_model.py", "models/test_lstm.py",
                 "kinds/byte_crf/test_model.py", "commands/test_predict.py",
                 "kinds/charner/test_kind.py", "commands/test_train.py", "launch/test_local.py",
                 "data/test_prepared.py", "kinds/test_toy_kind.py", "commands/test_analyze.py")
TESTS = pathlib.Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
  """The longest test files first (LONGEST_FIRST), so that `-n 2`'s workers finish together
  instead of one running a long file alone at the end."""
  def rank(item: pytest.Item) -> int:
    name = item.path.relative_to(TESTS).as_posix()
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

  items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
  """`--dist loadscope` (setup.cfg) with this suite's scopes: a test file goes to one worker whole,
  in the order of collection, so that its module-scoped fixtures (trained runs, compiled programs)
  are built once, not once per worker; the README's blocks go one by one, those that share a
  workspace (tests/test_readme.py's WORKSPACES) together, in README order."""
  if config.getvalue("dist") != "loadscope":
    return None
  from xdist.scheduler import LoadScopeScheduling  # pylint: disable=import-outside-toplevel

  class SuiteScheduling(LoadScopeScheduling):
    readme_workspaces = None

    def _split_scope(self, nodeid: str) -> str:
      path, _, name = nodeid.partition("::")
      block = re.fullmatch(r"test_readme_block\[(.+)\]", name)
      if pathlib.PurePosixPath(path).name != "test_readme.py" or not block:
        return path
      if self.readme_workspaces is None:  # the test module, loaded here for its README parsing
        spec = importlib.util.spec_from_file_location("readme_workspaces",
                                                      TESTS / "test_readme.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        type(self).readme_workspaces = module.WORKSPACES
      return "README workspace " + self.readme_workspaces.get(block.group(1), block.group(1))

  return SuiteScheduling(config, log)


# Tiny sizes and one padded shape per program: demo sentences have <= 14 words of <= 12 bytes, and
# with 32 word slots per sentence every batch's words fit the minimum of packed byte rows (with 16,
# some batches need twice as many rows, a second shape).
TINY_ARG = "langs=demo/aa+demo/bb"
TINY_OVERRIDES = {
    "model.byte_emb_dim": 8, "model.byte_hidden": 8, "model.word_hidden": 16,
    "data.max_word_bytes": 16, "data.byte_buckets": (16,), "data.length_buckets": (32,),
    "data.max_train_sentences": 64, "batch_size": 16, "eval_batch_size": 32,
    "optimizer.learning_rate": 1e-2, "optimizer.schedule": "constant", "num_epochs": 2,
    "patience": 0, "checkpoint_every_steps": 3, "log_every_steps": 2,
}


def make_tiny_config(**overrides):
  """configs/byte_crf.py with TINY_OVERRIDES and then `overrides` ("a.b" keys)."""
  config = config_lib.load_config(f"byte_crf.py:{TINY_ARG}")
  config.update_from_flattened_dict({**TINY_OVERRIDES, **overrides})
  return config


@pytest.fixture(scope="session")
def tiny_flags():
  """`tiny_flags(**{"a.b": value})`: `polyglot-ner train` flags for the tiny config."""
  def flags(**overrides):
    values = {**TINY_OVERRIDES, **overrides}
    return [f"--config=configs/byte_crf.py:{TINY_ARG}"] + [
        f"--config.{key}={value}" for key, value in values.items()]
  return flags


@pytest.fixture(scope="session")
def tiny_config():
  """`tiny_config(**{"a.b": value})`: the tiny config with overrides."""
  return make_tiny_config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
  """(config, workdir, results) of the tiny config trained for its 2 epochs, uninterrupted."""
  from polyglot_ner.train import loop  # pylint: disable=import-outside-toplevel
  config = make_tiny_config()
  workdir = tmp_path_factory.mktemp("trained")
  return config, workdir, loop.train_and_evaluate(config, workdir)


@pytest.fixture
def read_only(monkeypatch):
  """`read_only(directory)`: creating or renaming anything under `directory` fails with EACCES, as
  after `chmod -R a-w directory`, which does not stop root (tests may run as root); with
  `calls=("rename",)`, only renames fail. Returns a function that makes it writable again."""
  refused: dict[str, set[str]] = {"mkdir": set(), "rename": set()}

  def refusing(name, call):
    def guarded(path, *args, **kwargs):
      if any(os.path.abspath(path).startswith(prefix) for prefix in refused[name]):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
      return call(path, *args, **kwargs)
    return guarded

  for name in refused:
    monkeypatch.setattr(os, name, refusing(name, getattr(os, name)))

  def make_read_only(directory, calls=tuple(refused)):
    prefix = os.path.join(os.path.abspath(directory), "")
    for name in calls:
      refused[name].add(prefix)

    def writable_again():
      for name in calls:
        refused[name].discard(prefix)

    return writable_again

  return make_read_only
