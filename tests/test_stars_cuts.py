"""build-stars cuts, reference magnitudes, bad input and the command line, on small synthetic sets."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest
from test_stars import BANDS, build, make_truth, offset, random_field, read_tables

from fgcm_db.cli import main
from fgcm_db.config import load_config
from fgcm_db.db import Database
from fgcm_db.errors import FgcmDbError
from fgcm_db.stars import build_stars, stable_hash_unit, stars_are_built


@pytest.fixture(scope="module")
def field():
    """800 stars in a 0.1 deg square at (10, 10), 8 visits per band."""
    rng = np.random.default_rng(7)
    ra, dec = random_field(rng, 10.0, 10.0, 0.05, 800)
    truth, table = make_truth(rng, ra, dec)
    return rng, truth, table


def test_density_cap_keeps_at_most_the_maximum_per_pixel_reproducibly_by_seed(field, tmp_path):
    _, _, table = field
    capped = {"density_cut_nside": 4096, "density_max_per_pixel": 2}
    build(tmp_path / "a.duckdb", table, capped)
    build(tmp_path / "b.duckdb", table, capped)
    build(tmp_path / "c.duckdb", table, {**capped, "density_seed": 99})
    stars_a, _, _, stats = read_tables(tmp_path / "a.duckdb")
    stars_b = read_tables(tmp_path / "b.duckdb")[0]
    stars_c = read_tables(tmp_path / "c.duckdb")[0]
    per_pixel = np.bincount(stars_a["healpix"].to_numpy() >> (2 * (14 - 12)))
    assert per_pixel.max() == 2
    assert stars_a.equals(stars_b)
    assert not np.array_equal(stars_a["star_id"].to_numpy(), stars_c["star_id"].to_numpy())
    assert len(stars_a) == len(stars_c)
    counts = {step: n for step, _, n in stats}
    assert counts["density_removed"] > 300
    assert counts["stars"] == len(stars_a)
    uncapped = build(tmp_path / "d.duckdb", table)
    assert uncapped.n_stars == counts["stars"] + counts["density_removed"]
    # the kept stars are, in each pixel, the two of lowest hash(star_id, density_seed)
    everyone = read_tables(tmp_path / "d.duckdb")[0]
    ids = everyone["star_id"].to_numpy()
    pixel = everyone["healpix"].to_numpy() >> (2 * (14 - 12))
    order = np.lexsort((stable_hash_unit(ids, 123456), pixel))
    rank = np.empty(ids.size, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(pixel[order])) + 1]
    rank[order] = np.arange(ids.size) - np.repeat(starts, np.diff(np.r_[starts, ids.size]))
    assert np.array_equal(np.sort(ids[rank < 2]), stars_a["star_id"].to_numpy())


def test_required_bands_keep_only_stars_with_enough_observations_in_each(field, tmp_path):
    _, _, table = field
    build(tmp_path / "r.duckdb", table, {"required_bands": ["g", "r", "i"], "min_obs_per_band": 7})
    stars, star_obs, _, stats = read_tables(tmp_path / "r.duckdb")
    assert len(stars) > 300
    for band in BANDS:
        assert stars[f"nobs_{band}"].min() >= 7
    counts = {step: n for step, _, n in stats}
    assert counts["required_bands_removed"] > 100


def test_reference_magnitudes_use_the_nearest_object_within_one_arcsec_and_colour_terms(field, tmp_path):
    rng, truth, table = field
    near = np.arange(0, 400)            # reference objects 0.3" from the star: matched
    far = np.arange(400, 450)           # 1.5" away: not matched
    ref_ra, ref_dec = offset(truth.ra[:450], truth.dec[:450],
                             np.where(np.arange(450) < 400, 0.3, 1.5), rng.uniform(0, 360, 450))
    mags = {"g": rng.uniform(18, 21, 450), "r": rng.uniform(18, 21, 450), "i": rng.uniform(18, 21, 450)}
    terms = {"r": {"primary": "r", "secondary": "i", "c0": 0.01, "c1": 0.1, "c2": 0.02}}
    build(tmp_path / "ref.duckdb", table, {"color_terms": terms}, refcat=(ref_ra, ref_dec, mags))
    stars, star_obs, star_ref, stats = read_tables(tmp_path / "ref.duckdb")
    # truth index of each star: its observations' truth (sourceIds map to truth through the table)
    truth_of_source = dict(zip(truth.source_id.tolist(), truth.source_truth.tolist()))
    first_obs = star_obs.group_by("star_id").first()
    star_truth = {s: truth_of_source[o] for s, o in zip(first_obs["star_id"], first_obs["sourceId"])}
    matched_truth = np.array([star_truth[s] for s in star_ref["star_id"].to_list()])
    assert set(matched_truth) <= set(near)
    assert not set(matched_truth) & set(far)
    kept_near = {star_truth[s] for s in stars["star_id"].to_list()} & set(near)
    assert len(set(matched_truth)) == len(kept_near) > 300
    assert (star_ref["dist_arcsec"] < 0.5).all()
    # colour term for r, identity for g and i
    ref_row = matched_truth  # reference object i was placed next to truth star i
    colour = mags["r"][ref_row] - mags["i"][ref_row]
    expected = {
        "g": mags["g"][ref_row],
        "r": mags["r"][ref_row] + 0.01 + 0.1 * colour + 0.02 * colour**2,
        "i": mags["i"][ref_row],
    }
    bands = star_ref["band"].to_numpy()
    for band in BANDS:
        sel = bands == band
        np.testing.assert_allclose(star_ref["ref_mag"].to_numpy()[sel], expected[band][sel], atol=1e-9)
    r_err = star_ref["ref_mag_err"].to_numpy()[bands == "r"]
    c = colour[bands == "r"]
    np.testing.assert_allclose(r_err, np.hypot((1.1 + 0.04 * c) * 0.02, (0.1 + 0.04 * c) * 0.02), rtol=1e-9)


def test_no_reference_overlap_is_a_warning_and_leaves_star_ref_empty(field, tmp_path, caplog):
    rng, _, table = field
    ra, dec = random_field(rng, 200.0, -40.0, 0.05, 50)
    with caplog.at_level(logging.WARNING, logger="fgcm_db.stars"):
        summary = build(tmp_path / "noref.duckdb", table, refcat=(ra, dec, {"r": np.full(50, 19.0)}))
    assert summary.n_stars > 0 and summary.n_reference == 0
    assert "does not overlap" in caplog.text


def test_all_stars_removed_by_the_cuts_is_a_warning_with_empty_tables(field, tmp_path, caplog):
    _, _, table = field
    with caplog.at_level(logging.WARNING, logger="fgcm_db.stars"):
        summary = build(tmp_path / "none.duckdb", table, {"required_bands": ["g"], "min_obs_per_band": 50})
    assert summary.n_stars == 0
    assert "every star was removed by the cuts" in caplog.text
    stars, star_obs, _, _ = read_tables(tmp_path / "none.duckdb")
    assert len(stars) == 0 and len(star_obs) == 0 and "nobs_g" in stars.columns
    with Database(tmp_path / "none.duckdb", read_only=True) as db:
        assert not stars_are_built(db)


def test_no_observations_selected_is_a_clear_error(db_path):
    config = load_config()
    with Database(db_path) as db:
        with pytest.raises(FgcmDbError, match="no observations selected: table `observations`"):
            with db.stage("build-stars", config.to_dict()) as run_id:
                build_stars(db, config, run_id)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"required_bands": ["z"]}, "required band\\(s\\) z have no observations"),
    ({"primary_bands": ["y", "z"]}, "none of the primary bands"),
])
def test_a_configured_band_without_observations_is_a_clear_error(field, tmp_path, overrides, message):
    _, _, table = field
    with pytest.raises(FgcmDbError, match=message):
        build(tmp_path / "bad.duckdb", table, overrides)


def test_command_line_builds_stars_and_reports_a_missing_database(field, tmp_path, capsys):
    _, _, table = field
    path = tmp_path / "cli.duckdb"
    build(path, table)
    assert main(["--db", str(path), "build-stars"]) == 0
    with Database(path, read_only=True) as db:
        assert stars_are_built(db)
        reserved = db.con.execute("SELECT star_id, reserved FROM stars").fetchall()
    ids = np.array([r[0] for r in reserved])
    assert np.array_equal(np.array([r[1] for r in reserved]), stable_hash_unit(ids, 1) < 0.1)
    assert main(["build-stars", "--db", str(tmp_path / "absent.duckdb")]) == 2
    assert "no database at" in capsys.readouterr().err


def test_a_failed_rebuild_leaves_the_previous_star_tables_untouched(field, tmp_path, monkeypatch):
    import duckdb

    from fgcm_db import stars as stars_module

    _, _, table = field
    path = tmp_path / "fail.duckdb"
    build(path, table)
    before = read_tables(path)

    def broken_reference_match(db, *args):
        db.con.execute("SELECT no_such_column FROM stars")

    monkeypatch.setattr(stars_module, "_match_reference", broken_reference_match)
    config = load_config()
    with Database(path) as db:
        with pytest.raises(duckdb.BinderException, match="no_such_column"):
            with db.stage("build-stars", config.to_dict()) as run_id:
                build_stars(db, config, run_id)
        assert db.con.execute("SELECT status FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()[0] == "failed"
    after = read_tables(path)
    for a, b in zip(before[:3], after[:3]):
        assert a.equals(b)
    assert before[3] == after[3]


def test_stars_gets_one_documented_nobs_column_per_observed_band_after_rebuilds(field, tmp_path):
    _, _, table = field
    path = tmp_path / "bands.duckdb"
    build(path, table)
    config = load_config()
    with Database(path) as db:
        db.con.execute("DELETE FROM observations WHERE band = 'i'")
        with db.stage("build-stars", config.to_dict()) as run_id:
            summary = build_stars(db, config, run_id)
        columns = dict(db.con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'stars'").fetchall())
        n_with_g = db.con.execute("SELECT count(*) FROM stars WHERE nobs_g >= 2").fetchone()[0]
    assert summary.bands == ("g", "r")
    assert [c for c in columns if c.startswith("nobs_")] == ["nobs_g", "nobs_r"]
    assert columns["nobs_g"] == "observations of the star in band g [1]"
    assert columns["star_id"].startswith("star id")
    assert n_with_g > 0.9 * summary.n_stars


def test_colour_terms_and_cuts_load_from_toml_and_bad_values_name_the_option(tmp_path):
    path = tmp_path / "stars.toml"
    path.write_text(
        '[stars]\nrequired_bands = ["g", "r"]\ndensity_cut_nside = 256\n\n'
        '[stars.color_terms.r]\nprimary = "r"\nsecondary = "i"\nc0 = -0.000144\nc1 = 0.001369\nc2 = -0.00838\n'
    )
    cfg = load_config(path).stars
    assert cfg.required_bands == ["g", "r"] and cfg.density_cut_nside == 256
    assert cfg.color_terms["r"].secondary == "i" and cfg.color_terms["r"].c2 == -0.00838
    for overrides, message in [
        ({"density_cut_nside": 100}, "density_cut_nside = 100"),
        ({"isolation_radius_arcsec": 0.5}, "isolation_radius_arcsec = 0.5"),
        ({"reserve_fraction": 1.0}, "reserve_fraction = 1.0"),
        ({"color_terms": {"r": {"primary": "r"}}}, r"\[stars.color_terms.r\] needs both"),
        ({"memory_limit": "lots"}, "memory_limit = 'lots'"),
    ]:
        with pytest.raises(FgcmDbError, match=message):
            load_config(overrides={"stars": overrides})


def test_repeated_source_ids_are_a_clear_error(field, tmp_path):
    _, _, table = field
    repeated = table.set_column(0, "sourceId", pa.array(np.repeat(table.column("sourceId").to_numpy()[::2], 2)[
        :table.num_rows]))
    with pytest.raises(FgcmDbError, match="repeated sourceId values"):
        build(tmp_path / "dup.duckdb", repeated)
