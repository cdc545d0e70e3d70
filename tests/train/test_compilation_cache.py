"""The persistent compilation cache: a configured directory wins, else one under the user cache."""

import jax
import pytest

from polyglot_ner.train import compilation_cache


@pytest.fixture
def unset_cache_dir():
  saved = jax.config.jax_compilation_cache_dir
  jax.config.update("jax_compilation_cache_dir", None)
  yield
  jax.config.update("jax_compilation_cache_dir", saved)


def test_default_dir_is_under_the_user_cache(unset_cache_dir, monkeypatch, tmp_path):
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
  assert compilation_cache.enable() == str(tmp_path / "polyglot_ner" / "jax")
  assert jax.config.jax_compilation_cache_dir == str(tmp_path / "polyglot_ner" / "jax")


def test_a_configured_dir_is_kept(unset_cache_dir, monkeypatch, tmp_path):
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "unused"))
  jax.config.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
  assert compilation_cache.enable() == str(tmp_path / "mine")
