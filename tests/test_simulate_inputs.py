"""Simulated tracts as inputs to the rest of the pipeline: the ingest round trip, a Pickles spectral
library, an FGCM atmosphere table, and the built-in stellar model's colours."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from fgcm_db.cli import main
from fgcm_db.ingest import run_ingest
from fgcm_db.simulate import build_simulation
from fgcm_db.simulation.seds import builtin_templates, library_templates, read_pickles_sed
from fgcm_db.simulation.truth import flux_ratios, standard_passbands
from fgcm_db.throughput import default_throughput


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "tiny"
    assert main(["simulate", "--out", str(out), "--preset", "tiny", "--seed", "7"]) == 0
    return out


def test_simulated_tract_round_trips_through_ingest_with_consistent_airmass_and_hour_angle(tiny, tmp_path):
    db = tmp_path / "sim.duckdb"
    run_ingest(db, sources=str(tiny / "sources"), visits=str(tiny / "visit_summary.parquet"),
               camera=str(tiny / "camera.yaml"), refcat=str(tiny / "refcat.parquet"))
    src = pl.read_parquet(tiny / "sources" / "*.parquet")
    con = duckdb.connect(str(db), read_only=True)
    try:
        n_sources = con.sql("SELECT count(*) FROM sources").fetchall()[0][0]
        obs = con.sql("SELECT sourceId, airmass FROM observations").pl()
        visits = con.sql("SELECT visit, hour_angle, airmass FROM visits").pl()
        n_ref = con.sql("SELECT count(DISTINCT ref_id) FROM refcat").fetchall()[0][0]
    finally:
        con.close()
    assert n_sources == src.height
    truth_obs = pl.read_parquet(tiny / "truth" / "observations.parquet")
    joined = obs.join(truth_obs.select("sourceId", pl.col("airmass").alias("true_airmass")), on="sourceId")
    assert joined.height == obs.height > 3000  # every selected source is a simulated object
    assert np.max(np.abs((joined["airmass"] - joined["true_airmass"]).to_numpy())) < 1e-6
    tv = visits.join(pl.read_parquet(tiny / "truth" / "visits.parquet").select(
        "visit", pl.col("hour_angle").alias("true_ha"), pl.col("airmass").alias("true_airmass")), on="visit")
    assert tv.height == visits.height
    assert np.max(np.abs((tv["hour_angle"] - tv["true_ha"]).to_numpy())) < 1e-6
    assert np.max(np.abs((tv["airmass"] - tv["true_airmass"]).to_numpy())) < 1e-6
    assert n_ref == pl.read_parquet(tiny / "refcat.parquet").height
    # the selection keeps point sources only: no galaxies, sky sources or blend members
    kinds = joined.join(truth_obs.select("sourceId", "object_id"), on="sourceId").join(
        pl.read_parquet(tiny / "truth" / "stars.parquet").select("object_id", "kind"), on="object_id")
    assert (kinds["kind"] == "star").mean() > 0.97


def test_pickles_library_is_read_and_drives_the_star_spectra(shared_data, tmp_path):
    lib = shared_data / "sed" / "pickles"
    wl, flam = read_pickles_sed(lib / "g2v.sed")
    assert wl[0] < 300 and wl[-1] > 1100 and np.all(flam >= 0)
    sim = build_simulation("tiny", seed=1, sed_library=lib)
    assert len(sim.templates) == len(list(lib.glob("*.sed")))
    names = set(sim.templates.names[sim.scene.objects.template])
    assert {"m4v", "g2v"} & names or len(names) > 20
    out = tmp_path / "pickles"
    assert main(["simulate", "--out", str(out), "--preset", "tiny", "--sed-library", str(lib)]) == 0
    stars = pl.read_parquet(out / "truth" / "stars.parquet").filter(pl.col("kind") == "star")
    assert np.percentile(stars["color_gi"], 95) > 2.0 and np.percentile(stars["color_gi"], 5) < 0.5


def test_fgcm_atmosphere_table_can_drive_the_simulation(shared_data, tmp_path):
    table = shared_data / "atmosphere" / "fgcm_atm_subaru2_test.fits"
    out = tmp_path / "table"
    assert main(["simulate", "--out", str(out), "--preset", "tiny", "--atmosphere", str(table)]) == 0
    calib = pl.read_parquet(out / "truth" / "photo_calib.parquet")
    assert calib["zp_mag"].is_finite().all()


def test_builtin_stellar_model_reddens_monotonically_and_matches_pickles_dwarf_colours(shared_data):
    from fgcm_db.atmosphere import load_atmosphere
    from fgcm_db.sites import get_site

    tp = default_throughput()
    site = get_site("subaru")
    std = standard_passbands(load_atmosphere(None, site), tp, ["HSC-G", "HSC-I"], site)
    passbands = np.stack([std["HSC-G"], std["HSC-I"]])
    model = builtin_templates(tp.wavelength_nm, 60)
    r = flux_ratios(model.fnu, passbands, tp.wavelength_nm)
    gi = -2.5 * np.log10(r[:, 0] / r[:, 1])
    assert np.all(np.diff(gi) > 0)  # hottest first
    assert gi[0] < -0.3 and gi[-1] > 2.8
    lib = library_templates(shared_data / "sed" / "pickles", tp.wavelength_nm)
    rl = flux_ratios(lib.fnu, passbands, tp.wavelength_nm)
    lib_gi = dict(zip(lib.names, -2.5 * np.log10(rl[:, 0] / rl[:, 1])))
    # the model spans the same range as the dwarfs A0V ... M4V
    assert gi[0] < lib_gi["a0v"] + 0.2 and gi[-1] > lib_gi["m4v"] - 0.2
