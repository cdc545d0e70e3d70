"""Test-wide setup: CPU only, four fake devices so that sharding is exercised everywhere."""

import os
import pathlib

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4").strip()

import pytest  # noqa: E402

DATA_ROOT = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> pathlib.Path:
  """The real corpora of ../shared/data (present in CI); tests needing them skip elsewhere."""
  if not DATA_ROOT.is_dir():
    pytest.skip(f"real data not found at {DATA_ROOT}")
  return DATA_ROOT
