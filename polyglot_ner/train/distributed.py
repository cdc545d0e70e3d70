"""Joining a multi-process run: `jax.distributed.initialize()` only when launched that way.

One-host runs need nothing. A run is multi-process when the launcher says so:

* `JAX_COORDINATOR_ADDRESS` (host:port) with `JAX_NUM_PROCESSES` and `JAX_PROCESS_ID` — any
  launcher, e.g. two CPU processes on one machine;
* SLURM with more than one task (`SLURM_JOB_ID`, `SLURM_NTASKS` > 1);
* Open MPI with more than one rank (`OMPI_COMM_WORLD_SIZE` > 1);
* a multi-worker Cloud TPU slice (`TPU_WORKER_HOSTNAMES` lists more than one host).

In the last three cases JAX's own cluster detection supplies the addresses. Call this before
anything touches a JAX device.
"""

from __future__ import annotations

import os

import jax

_ADDRESS = "JAX_COORDINATOR_ADDRESS"
_NUM_PROCESSES = "JAX_NUM_PROCESSES"
_PROCESS_ID = "JAX_PROCESS_ID"


def _int_env(name: str, default: int) -> int:
  value = os.environ.get(name, "")
  try:
    return int(value) if value else default
  except ValueError:
    raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def launched_multi_process() -> bool:
  """Whether the environment describes a run of more than one process."""
  env = os.environ
  return (_ADDRESS in env
          or ("SLURM_JOB_ID" in env and _int_env("SLURM_NTASKS", 1) > 1)
          or _int_env("OMPI_COMM_WORLD_SIZE", 1) > 1
          or len([h for h in env.get("TPU_WORKER_HOSTNAMES", "").split(",") if h]) > 1)


def maybe_initialize() -> bool:
  """Initialises `jax.distributed` for a multi-process launch; returns whether it did."""
  if jax.distributed.is_initialized() or not launched_multi_process():
    return False
  if _ADDRESS in os.environ:
    missing = [name for name in (_NUM_PROCESSES, _PROCESS_ID) if name not in os.environ]
    if missing:
      raise ValueError(f"{_ADDRESS} is set, so this is a multi-process run, but {missing} "
                       "are not; set all three")
    jax.distributed.initialize(os.environ[_ADDRESS], num_processes=_int_env(_NUM_PROCESSES, 1),
                               process_id=_int_env(_PROCESS_ID, 0))
  else:
    jax.distributed.initialize()
  return True
