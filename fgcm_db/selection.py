"""Source selection and the per-observation quantities computed once at ingest.

The selection and the arithmetic are SQL (``sql/ingest_source_verdicts.sql`` defines one verdict
column per rejection reason; ``sql/ingest_observations.sql`` computes FGCMCAL_PIPELINE.md 1.4):

- ``inst_mag = -2.5 log10(inst_flux / exptime)``: mag per second of exposure;
- ``inst_mag_err = 2.5/ln(10) * flux_err / flux`` (the background-subtraction error is ignored by design);
- ``delta_mag_bkg = -2.5 log10(flux - pi r^2 B) + 2.5 log10(flux)`` when subtracting the local background
  (then ``inst_flux = flux - pi r^2 B``, so ``inst_mag`` already includes it), else 0;
- ``delta_mag_aper = -2.5 log10(F_12 / F_17)``, error ``2.5/ln(10) sqrt((e_12/F_12)^2 + (e_17/F_17)^2)``,
  NULL when not finite.

This module turns the config into the one-row ``selection_params`` table those statements read, and
provides the two numerical columns as vectorised DuckDB functions (Arrow batches in, numpy inside):
``fgcm_healpix_nest(ra, dec)`` (nest id at nside 16384, :func:`fgcm_db.astro.healpix_nest`) and
``fgcm_source_airmass(mjd, ra, dec)`` (sec z of a source at mid-exposure from its own hour angle at the
site; NULL below the horizon).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import numpy as np
import pyarrow as pa

from . import astro
from .configs.ingest import SELECTABLE_FLAGS, IngestConfig
from .sites import Site

#: Selection reasons, in ``selection_summary`` order (column ``n_<reason>``, verdict ``is_<reason>``).
REASONS = ("flagged", "extended", "low_sn", "high_sn", "blended", "sky", "bad_coord", "bad_background")

HEALPIX_FUNCTION = "fgcm_healpix_nest"
AIRMASS_FUNCTION = "fgcm_source_airmass"


def selection_params(config: IngestConfig) -> pa.Table:
    """The one-row ``selection_params`` table of ``sql/ingest_source_verdicts.sql`` for ``config``:
    ``reject_<flag>`` booleans, ``flux_field``, thresholds, switches and ``aperture_area`` (pixel^2)."""
    radius = config.aperture_radius_px() or 0.0
    rejected = set(config.effective_reject_flags())
    values = {f"reject_{flag}": flag in rejected for flag in SELECTABLE_FLAGS}
    values.update(
        flux_field=config.flux_field,
        max_extendedness=config.max_extendedness,
        min_sn=config.min_sn,
        max_sn=config.max_sn,
        require_isolated=config.require_isolated,
        reject_sky=config.reject_sky_sources,
        subtract_background=config.subtract_local_background,
        aperture_area=float(np.pi * radius**2),
    )
    return pa.table({k: [v] for k, v in values.items()})


def healpix_batch(ra: pa.Array, dec: pa.Array) -> pa.Array:
    """HEALPix nest ids (nside 16384) of a batch of positions in degrees."""
    return pa.array(astro.healpix_nest(ra.to_numpy(zero_copy_only=False), dec.to_numpy(zero_copy_only=False)))


def airmass_batch(site: Site):
    """A batch function (mjd TAI, ra deg, dec deg) -> sec z at ``site`` (NULL below the horizon)."""

    def airmass(mjd: pa.Array, ra: pa.Array, dec: pa.Array) -> pa.Array:
        ra_deg = ra.to_numpy(zero_copy_only=False)
        ha = astro.hour_angle_deg(mjd.to_numpy(zero_copy_only=False), ra_deg, site.longitude_deg)
        return pa.array(astro.secant_zenith(ha, dec.to_numpy(zero_copy_only=False), site.latitude_deg),
                        from_pandas=True)

    return airmass


@contextlib.contextmanager
def observation_functions(con: duckdb.DuckDBPyConnection, site: Site) -> Iterator[None]:
    """Register the vectorised healpix and airmass functions on ``con`` for the duration of a block."""
    con.create_function(HEALPIX_FUNCTION, healpix_batch, ["DOUBLE", "DOUBLE"], "BIGINT", type="arrow")
    con.create_function(AIRMASS_FUNCTION, airmass_batch(site), ["DOUBLE", "DOUBLE", "DOUBLE"], "DOUBLE",
                        type="arrow", null_handling="special")
    try:
        yield
    finally:
        for name in (HEALPIX_FUNCTION, AIRMASS_FUNCTION):
            with contextlib.suppress(duckdb.Error):
                con.remove_function(name)
