"""Benchmark of ``fgcm-db simulate``: wall time, sizes and peak memory per preset.

Usage: ``python bench/simulate.py [preset ...]`` (default: tiny small tract). Prints one line per
preset; numbers depend on the machine's load (other processes share its cores).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from fgcm_db.configs.simulate import SimulateConfig
from fgcm_db.simulate import build_simulation, write_simulation


def bench(preset: str, seed: int = 1) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sim = build_simulation(preset, seed, config=SimulateConfig())
        t1 = time.perf_counter()
        meta = write_simulation(sim, Path(tmp) / preset)
        t2 = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{preset:6s} visits {meta['n_visits']:4d} detectors {meta['n_detectors']:3d} "
          f"sources {meta['n_sources']:9d} star_obs {meta['n_star_observations']:9d} "
          f"refcat {meta['n_refcat']:6d} | build {t1 - t0:6.1f} s, visits+write {t2 - t1:6.1f} s, "
          f"total {t2 - t0:6.1f} s, {meta['n_sources'] / (t2 - t0):9.0f} sources/s, peak RSS {rss_mb:6.0f} MB")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["tiny", "small", "tract"]:
        bench(name)
