"""Session-scoped simulated tracts, simulated + ingested + LUT + stars, shared by the fit and tract tests.

Import the fixture into a test module (``from tract_fixtures import small_tract``) to use it. The
database is built once per session; tests that write to it should work on a copy
(:func:`copy_db`). The ingest subtracts the local background (the simulator leaves a residual
background that ``localBackground_instFlux`` measures).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from fgcm_db.cli import main


@dataclasses.dataclass(frozen=True)
class SimulatedTract:
    """A ready database and the simulation it came from.

    Attributes
    ----------
    db : the DuckDB file (ingest, make-lut and build-stars done; do not write to it).
    sim : the simulation directory (``truth/`` holds the truth tables).
    info : ``truth/simulation.json`` (wash MJD, bands, ...).
    """

    db: Path
    sim: Path
    info: dict


def build_tract(root: Path, preset: str, seed: int) -> SimulatedTract:
    """Simulate ``preset`` with ``seed`` under ``root`` and load it into ``root/tract.duckdb``."""
    sim = root / "sim"
    db = root / "tract.duckdb"
    ingest_cfg = root / "ingest.toml"
    ingest_cfg.write_text("[ingest]\nsubtract_local_background = true\n")
    steps = (
        ["simulate", "--out", str(sim), "--preset", preset, "--seed", str(seed)],
        ["--db", str(db), "ingest", "--sources", str(sim / "sources"), "--visits", str(sim / "visit_summary.parquet"),
         "--camera", str(sim / "camera.yaml"), "--refcat", str(sim / "refcat.parquet"), "--config", str(ingest_cfg)],
        ["--db", str(db), "make-lut"],
        ["--db", str(db), "build-stars"],
    )
    for argv in steps:
        if main(argv) != 0:
            raise RuntimeError(f"fgcm-db {' '.join(argv)} failed")
    info = json.loads((sim / "truth" / "simulation.json").read_text())
    return SimulatedTract(db=db, sim=sim, info=info)


def copy_db(tract: SimulatedTract, dest: Path) -> Path:
    """A private copy of the tract's database, for tests that write."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tract.db, dest)
    return dest


@pytest.fixture(scope="session")
def small_tract(tmp_path_factory) -> SimulatedTract:
    """The ``small`` preset (g r i z, 8 nights, 96 visits, 62 detectors), seed 1."""
    return build_tract(tmp_path_factory.mktemp("small_tract"), "small", 1)


@pytest.fixture(scope="session")
def tiny_tract(tmp_path_factory) -> SimulatedTract:
    """The ``tiny`` preset (g r, 4 nights, 32 visits, 10 detectors), seed 1."""
    return build_tract(tmp_path_factory.mktemp("tiny_tract"), "tiny", 1)
