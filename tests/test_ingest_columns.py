"""The column-mapping layer and the ingest configuration."""

from __future__ import annotations

import pytest

from fgcm_db.columns import SOURCE_COLUMNS, VISIT_COLUMNS, normalise, resolve
from fgcm_db.config import load_config
from fgcm_db.configs.ingest import IngestConfig
from fgcm_db.errors import FgcmDbError
from fgcm_db.readers import visit_detector_from_name


@pytest.mark.parametrize("variant, canonical", [
    ("ApFlux_12_0_instFlux", "apFlux_12_0_instFlux"),            # 2020-era capitalised
    ("base_CircularApertureFlux_12_0_instFlux", "apFlux_12_0_instFlux"),  # afw
    ("PixelFlags_edge", "pixelFlags_edge"),
    ("base_PixelFlags_flag_saturatedCenter", "pixelFlags_saturatedCenter"),
    ("Deblend_nChild", "deblend_nChild"),
    ("LocalBackground_instFlux", "localBackground_instFlux"),
    ("base_LocalBackground_instFlux", "localBackground_instFlux"),
    ("base_ClassificationExtendedness_value", "extendedness"),
    ("base_SdssCentroid_x", "x"),
    ("slot_Centroid_y", "y"),
    ("parent", "parentSourceId"),
    ("filter", "physical_filter"),
    ("decl", "coord_dec"),
    ("visitId", "visit"),
    ("PsFlux", "psfFlux"),
    ("base_PsfFlux_instFluxErr", "psfFluxErr"),
    ("Calib_psf_candidate", "calib_psf_candidate"),
])
def test_real_name_variants_map_to_their_canonical_column(variant, canonical):
    assert resolve([variant], SOURCE_COLUMNS).found.get(canonical) == variant


def test_canonical_name_wins_over_an_alias_present_in_the_same_file():
    found = resolve(["ra", "coord_ra", "id", "sourceId"], SOURCE_COLUMNS).found
    assert found["coord_ra"] == "coord_ra" and found["sourceId"] == "sourceId"


def test_every_missing_required_column_is_reported():
    mapping = resolve(["sourceId", "visit"], SOURCE_COLUMNS)
    required = [c.name for c in SOURCE_COLUMNS if c.required and c.name not in ("sourceId", "visit")]
    assert mapping.missing == required and len(required) > 15


def test_visit_summary_accepts_flattened_visit_table_names():
    found = resolve(["visitId", "detector", "filter", "expMidptMJD", "exposureTime", "ra", "decl"], VISIT_COLUMNS)
    assert found.missing == []
    assert (found.found["boresightRa"], found.found["expTime"]) == ("ra", "exposureTime")


def test_normalise_is_case_insensitive():
    assert normalise("PIXELFLAGS_EDGE") == normalise("pixelFlags_edge")


def test_default_file_name_pattern_parses_lsst_src_names():
    from pathlib import Path

    pattern = IngestConfig().fits_name_pattern
    name = Path("src_HSC_i_HSC-I_903986_0_31_HSC_runs_ci_hsc_20210407T021858Z.fits")
    assert visit_detector_from_name(name, pattern) == (903986, 31)
    assert visit_detector_from_name(Path("catalog.fits"), pattern) is None


@pytest.mark.parametrize("toml, message", [
    ('flux_field = "kronFlux"', "flux_field"),
    ('flux_field = "psfFlux"\nsubtract_local_background = true', "needs an aperture flux"),
    ('reject_flags = ["pixelFlags_nonsense"]', "unknown flag"),
    ("min_sn = 100.0\nmax_sn = 10.0", "min_sn < max_sn"),
    ('site = "palomar"', "unknown site"),
    ('fits_name_pattern = "src_(\\\\d+)"', "named groups"),
    ('memory_limit = "lots"', "memory_limit"),
])
def test_bad_ingest_config_fails_before_any_work(tmp_path, toml, message):
    path = tmp_path / "c.toml"
    path.write_text(f"[ingest]\n{toml}\n")
    with pytest.raises(FgcmDbError, match=message):
        load_config(path)


def test_flux_flag_and_background_flag_are_added_to_the_rejected_flags():
    config = IngestConfig(flux_field="apFlux_17_0", subtract_local_background=True)
    flags = config.effective_reject_flags()
    assert "apFlux_17_0_flag" in flags and "localBackground_flag" in flags
    assert config.aperture_radius_px() == 17.0
