"""End to end: `simulate --preset tiny` -> `ingest` -> `build-stars`, scored against the simulator's truth."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.spatial import cKDTree

from fgcm_db.db import Database
from fgcm_db.stars import chord2_for_radius, run_build_stars


def query(db, sql):
    return pl.from_arrow(db.con.sql(sql).to_arrow_table())


def unit_vectors(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=1)


@pytest.mark.slow
def test_tiny_simulated_tract_stars_match_the_truth(tmp_path):
    from fgcm_db.ingest import run_ingest
    from fgcm_db.simulate import run_simulate

    sim = tmp_path / "sim"
    run_simulate(sim, preset="tiny", seed=1)
    db_path = tmp_path / "tiny.duckdb"
    run_ingest(db_path, sources=str(sim / "sources"), visits=str(sim / "visit_summary.parquet"),
               camera=str(sim / "camera.yaml"), refcat=str(sim / "refcat.parquet"))
    summary = run_build_stars(db_path)
    assert summary.n_stars > 100

    with Database(db_path, read_only=True) as db:
        obs = query(db, "SELECT sourceId, band FROM observations")
        star_obs = query(db, "SELECT star_id, sourceId FROM star_obs")
        n_ref = db.row_count("star_ref")
    truth_obs = pl.read_parquet(sim / "truth" / "observations.parquet").select("sourceId", "object_id")
    objects = pl.read_parquet(sim / "truth" / "stars.parquet").select("object_id", "kind", "ra", "dec")
    obs = obs.join(truth_obs, on="sourceId", how="left").join(star_obs, on="sourceId", how="left")
    assert obs["object_id"].null_count() == 0

    # merges: output stars holding observations of two true objects
    per_star = obs.drop_nulls("star_id").group_by("star_id").agg(
        pl.col("object_id").n_unique().alias("n_objects"), pl.col("object_id").mode().first().alias("object_id"))
    assert (per_star["n_objects"] > 1).mean() <= 0.001
    assert per_star["object_id"].n_unique() == len(per_star)  # no true object split into two stars

    # isolated true stars (no other simulated object within 2.5") with >= 2 observations in a band
    vec = unit_vectors(objects["ra"].to_numpy(), objects["dec"].to_numpy())
    n_near = cKDTree(vec).query_ball_point(vec, np.sqrt(chord2_for_radius(2.5)), return_length=True)
    isolated = objects.filter(pl.Series(n_near == 1) & (pl.col("kind") == "star"))["object_id"]
    enough = obs.group_by("object_id", "band").len().filter(pl.col("len") >= 2)["object_id"].unique()
    wanted = set(isolated.to_list()) & set(enough.to_list())
    assert len(wanted) > 100
    found = set(per_star["object_id"].to_list())
    assert wanted <= found
    star_of_object = dict(zip(per_star["object_id"].to_list(), per_star["star_id"].to_list()))
    of_wanted = obs.filter(pl.col("object_id").is_in(list(wanted)))
    right = of_wanted["star_id"].to_numpy() == np.array(
        [star_of_object[o] for o in of_wanted["object_id"].to_list()])
    assert right.mean() >= 0.995
    assert n_ref > 0
