"""Test-wide setup: CPU only, four fake devices so that sharding is exercised everywhere, and
programs compiled cheaply and once.

Compiling dominates the suite (the tiny programs run in milliseconds), so XLA skips most
optimisations (2-4x faster compiles of the train step), and a persistent compilation cache (in the
system temp directory) lets every process after the first, the commands the tests run included,
load a program instead of compiling it. These are environment variables so that subprocesses
inherit them; a value already set wins.
"""

import os
import pathlib
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4").strip()
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "polyglot_ner_test_jax_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import pytest  # noqa: E402

DATA_ROOT = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> pathlib.Path:
  """The real corpora of ../shared/data (present in CI); tests needing them skip elsewhere."""
  if not DATA_ROOT.is_dir():
    pytest.skip(f"real data not found at {DATA_ROOT}")
  return DATA_ROOT


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
  """The README's commands first: the longest tests, started early, let `-n 2`'s workers finish
  together instead of one running a long command alone at the end."""
  items.sort(key=lambda item: item.path.name != "test_readme.py")
