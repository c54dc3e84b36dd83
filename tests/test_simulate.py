"""`fgcm-db simulate`: reproducibility, the contract files, realism of the population and the
consistency of the true calibration with the simulated counts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from fgcm_db import astro, photometry
from fgcm_db.camera import hsc_like_camera, load_camera
from fgcm_db.cli import main
from fgcm_db.columns import SOURCE_COLUMNS, VISIT_COLUMNS
from fgcm_db.configs.simulate import SimulateConfig
from fgcm_db.errors import FgcmDbError
from fgcm_db.simulate import build_simulation
from fgcm_db.simulation.integrate import quadrature_weights
from fgcm_db.simulation.objects import Objects
from fgcm_db.simulation.observe import observe_visit
from fgcm_db.simulation.survey import DetectorLocator
from fgcm_db.simulation.truth import calibration
from fgcm_db.simulation.writer import SOURCE_SCHEMA, VISIT_SUMMARY_SCHEMA


def _simulate(out, seed=1, extra=()):
    assert main(["simulate", "--out", str(out), "--preset", "tiny", "--seed", str(seed), *extra]) == 0
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny preset, seed 1, written through the command line."""
    return _simulate(tmp_path_factory.mktemp("sim") / "tiny")


def _files(directory):
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_and_another_seed_differs(tiny, tmp_path):
    first = _files(tiny)
    second = _files(_simulate(tmp_path / "again"))
    assert len(first) > 10 and first.keys() == second.keys()
    for name, content in first.items():
        assert content == second[name], name
    other = _files(_simulate(tmp_path / "other", seed=2))
    assert other[Path("truth/visits.parquet")] != first[Path("truth/visits.parquet")]


def test_files_have_every_contract_column_with_its_type(tiny):
    required_src = {c.name for c in SOURCE_COLUMNS if c.required}
    sources = sorted((tiny / "sources").glob("*.parquet"))
    visits = pl.read_parquet(tiny / "truth" / "visits.parquet")
    assert len(sources) == visits.height  # one file per visit
    schema = pq.read_schema(sources[0])
    assert required_src <= set(schema.names)
    for field in SOURCE_SCHEMA:
        assert schema.field(field.name).type == field.type, field.name
    summary = pq.read_table(tiny / "visit_summary.parquet")
    assert {c.name for c in VISIT_COLUMNS if c.required} <= set(summary.schema.names)
    for field in VISIT_SUMMARY_SCHEMA:
        assert summary.schema.field(field.name).type == field.type, field.name
    n_det = len(load_camera(tiny / "camera.yaml"))
    assert summary.num_rows == visits.height * n_det
    assert n_det == len(hsc_like_camera(100.0))
    ref = pl.read_parquet(tiny / "refcat.parquet")
    for b in "grizy":
        assert ref.schema[f"{b}_flux"] == pl.Float64 and ref.schema[f"{b}_fluxErr"] == pl.Float64
    assert {"ra", "dec"} <= set(ref.columns) and ref.height > 100
    calib = pl.read_parquet(tiny / "truth" / "photo_calib.parquet")
    assert calib.height == summary.num_rows
    assert np.allclose(calib["zp_mag"], photometry.zp_mag_from_calib(calib["calib_mean"].to_numpy()))
    stars = pl.read_parquet(tiny / "truth" / "stars.parquet")
    assert {"mag_std_g", "mag_std_r", "color_gi", "kind", "variable"} <= set(stars.columns)


def test_sources_hold_galaxies_sky_saturated_blends_flags_and_bad_fluxes(tiny):
    src = pl.read_parquet(tiny / "sources" / "*.parquet")
    n = src.height
    assert 1.5e4 < n < 4e4
    assert (src["extendedness"] == 1).sum() > 0.1 * n
    assert src["sky_source"].sum() > 0 and src.filter(pl.col("sky_source"))["extendedness"].is_nan().all()
    for flag in ("pixelFlags_saturatedCenter", "pixelFlags_edge", "pixelFlags_cr", "pixelFlags_bad",
                 "pixelFlags_interpolatedCenter", "apFlux_12_0_flag"):
        assert src[flag].sum() > 0, flag
    assert src.filter(pl.col("pixelFlags_cr"))["pixelFlags_interpolated"].all()  # repaired cosmic rays
    parents = src.filter(pl.col("deblend_nChild") > 0)
    children = src.filter(pl.col("parentSourceId") > 0)
    assert parents.height > 0 and children.height == 2 * parents.height
    assert set(children["parentSourceId"].to_list()) == set(parents["sourceId"].to_list())
    assert src["apFlux_12_0_instFlux"].is_nan().sum() > 0
    assert (src["apFlux_12_0_instFlux"] < 0).sum() > 0
    assert src["sourceId"].n_unique() == n
    good = src.filter((pl.col("extendedness") == 0) & (pl.col("apFlux_12_0_instFlux") > 0)
                      & (pl.col("apFlux_12_0_instFlux") / pl.col("apFlux_12_0_instFluxErr") > 100)
                      & ~pl.col("pixelFlags_saturatedCenter"))
    delta_aper = -2.5 * np.log10(good["apFlux_12_0_instFlux"] / good["apFlux_17_0_instFlux"]).to_numpy()
    assert 0.005 < np.nanmedian(delta_aper) < 0.08


def test_star_colours_span_g_minus_i_0_to_3_and_detected_counts_rise_to_24(tiny):
    stars = pl.read_parquet(tiny / "truth" / "stars.parquet").filter(pl.col("kind") == "star")
    gi = stars["color_gi"].to_numpy()
    assert np.percentile(gi, 5) < 0.4 and np.percentile(gi, 95) > 2.5
    assert gi.min() > -0.7 and gi.max() < 3.5
    obs = pl.read_parquet(tiny / "truth" / "observations.parquet").join(
        stars.select("object_id", "mag_std_r"), on="object_id").join(
        pl.read_parquet(tiny / "truth" / "visits.parquet").select("visit", "band"), on="visit")
    mags = obs.filter(pl.col("band") == "r")["mag_std_r"].to_numpy()
    counts = np.histogram(mags, bins=[17, 18, 19, 20, 21, 22, 23, 24])[0]
    assert np.all(np.diff(counts[[0, 2, 4, 6]]) > 0), counts
    assert np.sum(mags < 17) < 0.05 * len(mags)


def test_visit_summary_geometry_is_the_hour_angle_of_its_mjd_at_the_site(tiny):
    from fgcm_db.sites import get_site

    site = get_site("subaru")
    vs = pl.read_parquet(tiny / "visit_summary.parquet").unique("visit")
    ha = astro.hour_angle_deg(vs["expMidptMJD"].to_numpy(), vs["boresightRa"].to_numpy(), site.longitude_deg)
    zd = astro.zenith_distance_deg(ha, vs["boresightDec"].to_numpy(), site.latitude_deg)
    assert np.allclose(zd, vs["zenithDistance"].to_numpy(), atol=1e-9)
    assert np.all(np.abs(ha) <= 52.5 + 1e-6)
    truth = pl.read_parquet(tiny / "truth" / "visits.parquet")
    t = truth.join(vs.select("visit", "zenithDistance"), on="visit")
    assert np.allclose(1 / np.cos(np.radians(t["zenithDistance"].to_numpy())), t["airmass"].to_numpy())


def test_flat_sed_source_at_detector_centres_reproduces_true_calibration_within_0p1_mmag():
    sim = build_simulation("tiny", seed=3, config=SimulateConfig(noise=False))
    scene = sim.scene
    cam, s = scene.camera, scene.survey
    wq = quadrature_weights(scene.instrument.wavelength_nm)
    flat = len(sim.templates)
    fnu_w = {f: np.vstack([a, wq[scene.band_slice[f]]]) for f, a in scene.fnu_w.items()}  # f_nu = 3631 Jy
    truth = calibration(scene)
    mag = 21.0
    worst = 0.0
    for v in range(len(s)):
        ra, dec = astro.focal_plane_to_sky(cam.fp_x, cam.fp_y, s.ra[v], s.dec[v], s.rotation[v],
                                           cam.plate_scale_arcsec_per_mm)
        n = len(cam)
        probes = Objects(
            object_id=np.arange(1, n + 1), kind=np.zeros(n, np.int8), ra=ra, dec=dec, mag_ref=np.full(n, mag),
            template=np.full(n, flat), weight=np.zeros(n), teff=np.zeros(n), size_arcsec=np.zeros(n),
            var_amp=np.zeros(n), var_period=np.ones(n), var_phase=np.zeros(n), companion=np.full(n, -1))
        probe_scene = dataclasses.replace(scene, objects=probes, fnu_w=fnu_w, n_sky_per_detector=0)
        sources, tr = observe_visit(probe_scene, v, np.random.default_rng(v))
        assert len(tr["sourceId"]) == n
        rows = slice(v * n, (v + 1) * n)
        order = np.argsort(tr["detector"])
        calib = truth["calib_mean"][rows]
        flux_njy = 10 ** (-0.4 * (mag - photometry.NJY_AB_ZP))
        dm = 2.5 * np.log10(tr["true_ap12"][order] * calib / flux_njy)
        clean = ~(sources["pixelFlags_cr"] | sources["pixelFlags_bad"] | sources["pixelFlags_saturatedCenter"])
        measured = 2.5 * np.log10(sources["apFlux_12_0_instFlux"][order] * calib / flux_njy)[clean[order]]
        worst = max(worst, np.max(np.abs(dm)), np.max(np.abs(measured)))
    print(f"largest |calibrated - true| of flat-SED probes: {worst * 1e3:.2e} mmag")
    assert worst < 1e-4


def test_about_a_third_of_visits_are_cloudy_with_gray_between_0p02_and_1_mag():
    sim = build_simulation("tiny", seed=5, config=SimulateConfig(n_visits=600, n_nights=18))
    w = sim.scene.weather
    cloudy = ~w.photometric
    assert 0.2 < cloudy.mean() < 0.5
    assert np.all(w.cloud_mag[w.photometric] == 0)
    assert w.cloud_mag[cloudy].min() >= 0.02 and w.cloud_mag[cloudy].max() <= 1.0
    # PWV and tau drift through a night; O3 and alpha are constant within it
    s = sim.scene.survey
    for night in np.unique(s.night)[:5]:
        k = s.night == night
        assert np.ptp(w.o3[k]) == 0 and np.ptp(w.alpha[k]) == 0 and np.ptp(w.pwv[k]) > 0


def test_reference_catalog_has_real_colour_terms_against_the_standard_system(tiny):
    ref = pl.read_parquet(tiny / "refcat.parquet").with_row_index("row")
    ids = pl.read_parquet(tiny / "truth" / "refcat.parquet")
    stars = pl.read_parquet(tiny / "truth" / "stars.parquet")
    t = ref.join(ids, on="row").join(stars, on="object_id").filter(pl.col("r_flux").is_not_nan())
    dm = (31.4 - 2.5 * np.log10(t["r_flux"].to_numpy())) - t["mag_std_r"].to_numpy()
    slope = np.polyfit(t["color_gi"].to_numpy(), dm, 1)[0]
    assert abs(slope) > 0.005  # PS1 r differs from HSC r by a colour term
    assert np.std(dm - np.polyval(np.polyfit(t["color_gi"].to_numpy(), dm, 2), t["color_gi"].to_numpy())) < 0.1


def test_detector_locator_agrees_with_camera_locate():
    cam = hsc_like_camera()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-280, 280, 20000), rng.uniform(-280, 280, 20000)
    expected = cam.locate(x, y)
    got = DetectorLocator(cam).locate(x, y)
    assert np.array_equal(expected[0], got[0])
    on = expected[0] >= 0
    assert np.allclose(expected[1][on], got[1][on]) and np.allclose(expected[2][on], got[2][on])


def test_bad_simulate_settings_are_refused_with_the_field_named(tmp_path):
    with pytest.raises(FgcmDbError, match="gray_min_mag"):
        SimulateConfig(gray_min_mag=2.0, gray_max_mag=1.0).validate()
    bad = tmp_path / "bad.toml"
    bad.write_text("[simulate]\nfloor_mag = 0.5\n")
    assert main(["simulate", "--out", str(tmp_path / "x"), "--preset", "tiny", "--config", str(bad)]) == 2
    assert main(["simulate", "--out", str(tmp_path / "x"), "--preset", "tiny",
                 "--sed-library", str(tmp_path)]) == 2


def test_simulation_json_reports_sizes(tiny):
    meta = json.loads((tiny / "truth" / "simulation.json").read_text())
    assert meta["preset"] == "tiny" and meta["bands"] == ["g", "r"]
    assert 1e4 < meta["n_star_observations"] < 4e4


def test_airmass_interpolation_of_template_integrals_matches_direct_integration_within_1e_6_mag():
    from fgcm_db.atmosphere import load_atmosphere
    from fgcm_db.simulation.integrate import airmass_nodes, lagrange_weights, observe, support, visit_integrals
    from fgcm_db.simulation.seds import builtin_templates
    from fgcm_db.sites import get_site
    from fgcm_db.throughput import default_throughput

    tp = default_throughput()
    atm = load_atmosphere(None, get_site("subaru"))
    worst = 0.0
    for f in ("HSC-G", "HSC-Z"):
        curve = tp.curve(f)[None, :]
        sl = support(curve)
        lam = tp.wavelength_nm[sl]
        wq = quadrature_weights(tp.wavelength_nm)[sl]
        templates = builtin_templates(tp.wavelength_nm, 20).fnu[:, sl]
        secz = np.random.default_rng(1).uniform(1.85, 2.05, 50)  # a full focal plane at 60 deg
        nodes = airmass_nodes(secz.min(), secz.max())
        params = dict(pwv_mm=3.0, o3_du=280.0, tau=0.1, alpha=1.2, pressure_hpa=615.0)
        j = visit_integrals(templates * wq, curve[:, sl], atm.transmission(lam, airmass=nodes, **params))
        k = np.arange(50) % 19
        got = observe(j, k, np.full(50, 0.3), np.zeros(50, int), lagrange_weights(nodes, secz))
        direct_atm = atm.transmission(lam, airmass=secz, **params)
        mix = 0.7 * templates[k] + 0.3 * templates[k + 1]
        direct = np.sum(mix * curve[0, sl] * direct_atm * wq, axis=1)
        worst = max(worst, np.max(np.abs(2.5 * np.log10(got / direct))))
    print(f"largest airmass-interpolation error: {worst:.1e} mag")
    assert worst < 1e-6


def test_throughput_declines_between_washes_and_exposure_times_jitter():
    sim = build_simulation("small", seed=2)
    s, ins = sim.scene.survey, sim.scene.instrument
    decline = ins.decline_mag(s.mjd)
    before = s.mjd < ins.wash_mjd
    assert before.any() and (~before).any()
    assert np.all(np.diff(decline[before]) >= 0) and decline[~before].min() < decline[before].max()
    assert np.all(decline >= 0) and decline.max() < 0.05
    nominal = np.isin(s.exptime.round(), [150.0, 200.0])
    assert nominal.mean() > 0.7 and np.ptp(s.exptime[s.band == "g"]) > 0.1


def test_dithers_put_each_bright_star_on_several_detectors(tiny):
    obs = pl.read_parquet(tiny / "truth" / "observations.parquet")
    per_star = obs.group_by("object_id").agg(pl.col("detector").n_unique().alias("n_det"), pl.len().alias("n"))
    well_observed = per_star.filter(pl.col("n") >= 10)
    assert well_observed.height > 100
    assert well_observed["n_det"].median() >= 4
