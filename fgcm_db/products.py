"""Output products of ``calibrate-tract`` (CONTRACT.md): photo_calib, std_stars, visit_atmosphere, transmission.

:func:`write_products` turns the final (no-fit) cycle of a run into the product tables of
``migrations/0007_products.sql``, replacing the rows of the same tract; :func:`calibrate_flux` applies
``photo_calib`` (from the database or an exported ``photo_calib.parquet``) to instrumental fluxes.

Calibration of a (visit, detector), FGCM_ALGORITHM.md 8.1 and FGCMCAL_PIPELINE.md 7.3::

    zp_mag     = zp + abs_offset                       (zeropoints.zp of the final cycle, mag)
    calib_mean = 10**(-0.4 (zp_mag - 31.4))            nJy per count, at the detector centre
    calib_err  = 0.4 ln(10) calib_mean zp_err          zp_err from the FGCM error model (6.5)
    flux [nJy] = instFlux [counts] * calib(x, y)
    AB mag     = zp_mag - 2.5 log10(instFlux)

``calib(x, y)`` is ``calib_mean`` when ``cheb_coeffs`` is NULL (``[fit] superstar_sub_ccd_order = 0``), else
the field that :func:`calib_chebyshev` fits to ``calib_mean 10^(-0.4 (S(u, v) - S(0, 0)))`` from the final
cycle's sub-detector superstar S (``superstar.superstar_cheb``), evaluated as
``sum_{j,i} c[j (n+1) + i] T_i(u) T_j(v)`` (n = the superstar's order + 1) with
``u = (x + 0.5 - W/2) / (W/2)``,
``v = (y + 0.5 - H/2) / (H/2)`` (W, H = ``bbox_width``, ``bbox_height``; x, y 0-based pixel centres, so
the detector's outer pixel edges map to -1 and 1; the centre is x = W/2 - 0.5). This is a flat-f_nu
calibration; a source of SED slope F' (1/nm, ``star_mags.sed_slope``) has standard flux
``flux * (1 + F' i10_std) / (1 + F' i10)`` (FGCM's chromatic correction).

The absolute level per band comes from the reference catalog when stars have reference magnitudes
(the clipped median of reference - standard magnitudes, recorded in ``absolute_calibration`` with its
scatter), otherwise from the model throughput (offset 0).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from .configs.tract import TractConfig
from .db import Database
from .errors import FgcmDbError
from .fit import flags as fit_flags
from .photometry import NJY_AB_ZP
from .stars import ordered_bands

log = logging.getLogger(__name__)

# photo_calib.flag bits (0 = good): why a zero-point is degraded
#: the visit failed the photometric selection: its zero-point carries its own gray (cloud) term
FLAG_NONPHOTOMETRIC = 1
#: too few photometric visits on its night to fit the atmosphere: the night has the standard atmosphere
FLAG_NO_ATMOSPHERE_FIT = 2
#: too few good stars on the detector: its gray is the visit (focal-plane) gray
FLAG_RECOVERED_GRAY = 4
#: the band is calibrated but not used in the atmosphere fit
FLAG_NOT_FIT_BAND = 8
#: the gray term is below -[tract] thick_cloud_mag: thick cloud, few and faint stars
FLAG_THICK_CLOUD = 16
# visit_atmosphere.flag only: why a visit has no photo_calib row at all
#: no calibration star was observed on the visit
FLAG_NO_STARS = 64
#: no detector of the visit could be calibrated (no good detector gray, no recoverable visit gray)
FLAG_NOT_CALIBRATED = 128
#: the visit's physical filter is not in the look-up table
FLAG_BAND_NOT_IN_LUT = 256

FLAG_NAMES = {
    FLAG_NONPHOTOMETRIC: "non-photometric", FLAG_NO_ATMOSPHERE_FIT: "no atmosphere fit on the night",
    FLAG_RECOVERED_GRAY: "recovered gray", FLAG_NOT_FIT_BAND: "not a fit band", FLAG_THICK_CLOUD: "thick cloud",
    FLAG_NO_STARS: "no stars", FLAG_NOT_CALIBRATED: "not calibrated", FLAG_BAND_NOT_IN_LUT: "band not in LUT",
}

#: product tables replaced per tract by every calibrate-tract run
PRODUCT_TABLES = ("photo_calib", "std_stars", "visit_atmosphere", "transmission", "absolute_calibration")

REFERENCE_SOURCE = "reference catalog"
MODEL_SOURCE = "model throughput"
#: transmission grid step (CONTRACT.md: a 1 nm grid), nm
TRANSMISSION_STEP_NM = 1.0

#: star flags that keep a star out of std_stars (FGCM_ALGORITHM.md 8.3)
_STAR_BAD_BITS = fit_flags.STAR_TOO_FEW_OBS | fit_flags.STAR_BAD_COLOR | fit_flags.STAR_VARIABLE


def flag_names(flag: int) -> list[str]:
    """Names of the bits set in a photo_calib / visit_atmosphere flag."""
    return [name for bit, name in FLAG_NAMES.items() if int(flag) & bit]


def _flag_params(cfg: TractConfig) -> dict:
    return {
        "bit_nonphotometric": FLAG_NONPHOTOMETRIC, "bit_no_atmosphere_fit": FLAG_NO_ATMOSPHERE_FIT,
        "bit_recovered_gray": FLAG_RECOVERED_GRAY, "bit_not_fit_band": FLAG_NOT_FIT_BAND,
        "bit_thick_cloud": FLAG_THICK_CLOUD, "bit_no_stars": FLAG_NO_STARS, "bit_not_calibrated": FLAG_NOT_CALIBRATED,
        "bit_band_not_in_lut": FLAG_BAND_NOT_IN_LUT,
        "exp_nonphotometric_bits": fit_flags.EXP_NONPHOTOMETRIC, "exp_too_few_exp_bit": fit_flags.EXP_TOO_FEW_EXP_ON_NIGHT,
        "exp_no_stars_bit": fit_flags.EXP_NO_STARS, "exp_band_not_in_lut_bit": fit_flags.EXP_BAND_NOT_IN_LUT,
        "zp_absent_bits": fit_flags.ZP_CANNOT_COMPUTE | fit_flags.ZP_TOO_FEW_STARS_ON_CCD,
        "zp_nofit_night_bit": fit_flags.ZP_NOFIT_NIGHT, "zp_notfit_band_bit": fit_flags.ZP_PHOTOMETRIC_NOTFIT,
        "thick_cloud_mag": float(cfg.thick_cloud_mag), "njy_ab_zp": NJY_AB_ZP,
    }


# ---------------------------------------------------------------------------------------------
# Absolute level
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Offset:
    """Absolute offset of one band: ``offset_mag`` is added to its zero-points and standard magnitudes."""

    band: str
    source: str
    offset_mag: float
    offset_err: float
    scatter: float
    n_stars: int


def reference_offset(delta: np.ndarray, clip_nsig: float, max_iter: int = 10) -> tuple[float, float, float, int]:
    """Clipped median of ``delta`` = reference - standard magnitudes (mag).

    Iteratively keeps |delta - median| <= clip_nsig * 1.4826 MAD until nothing changes.

    Returns
    -------
    offset, offset_err, scatter, n : mag, mag (1.2533 scatter / sqrt(n), the error of a median),
        mag (1.4826 MAD of the kept values), number kept.
    """
    d = np.asarray(delta, dtype=np.float64)
    d = d[np.isfinite(d)]
    keep = np.ones(len(d), dtype=bool)
    for _ in range(max_iter):
        med = np.median(d[keep])
        mad = 1.4826 * np.median(np.abs(d[keep] - med))
        new = np.abs(d - med) <= clip_nsig * mad if mad > 0 else keep
        if np.array_equal(new, keep) or new.sum() < 3:
            break
        keep = new
    med = float(np.median(d[keep]))
    scatter = float(1.4826 * np.median(np.abs(d[keep] - med)))
    n = int(keep.sum())
    return med, 1.2533 * scatter / np.sqrt(n), scatter, n


def absolute_offsets(db: Database, cfg: TractConfig, run_id: int, cycle: int, bands: Sequence[str]) -> list[Offset]:
    """Per band: the reference-catalog offset when enough stars have reference magnitudes, else 0."""
    pairs: dict[str, np.ndarray] = {}
    if cfg.reference_calibration and db.table_exists("star_ref"):
        t = db.fetch_arrow("products_reference_pairs", {
            "run_id": run_id, "cycle": cycle, "max_err": cfg.reference_max_mag_err, "star_bad_bits": _STAR_BAD_BITS,
        })
        band = np.asarray(t.column("band").to_pylist(), dtype=object)
        delta = t.column("ref_mag").to_numpy() - t.column("mag_std").to_numpy()
        pairs = {b: delta[band == b] for b in bands}
    out = []
    for b in bands:
        d = pairs.get(b, np.empty(0))
        if len(d) >= cfg.reference_min_stars:
            offset, err, scatter, n = reference_offset(d, cfg.reference_clip_nsig)
            out.append(Offset(b, REFERENCE_SOURCE, offset, err, scatter, n))
        else:
            if cfg.reference_calibration and len(d):
                log.warning("band %s: only %d standard stars with reference magnitudes (< [tract] "
                            "reference_min_stars = %d): absolute level from the model throughput",
                            b, len(d), cfg.reference_min_stars)
            out.append(Offset(b, MODEL_SOURCE, 0.0, float("nan"), float("nan"), 0))
    return out


def _offsets_frame(offsets: Sequence[Offset]) -> pa.Table:
    def col(name, typ):
        values = [getattr(o, name) for o in offsets]
        if typ == pa.float64():
            arr = np.asarray(values, dtype=np.float64)
            return pa.array(arr, type=typ, mask=~np.isfinite(arr))
        return pa.array(values, type=typ)

    return pa.table({"band": col("band", pa.string()), "source": col("source", pa.string()),
                     "offset_mag": col("offset_mag", pa.float64()), "offset_err": col("offset_err", pa.float64()),
                     "scatter": col("scatter", pa.float64()), "n_stars": col("n_stars", pa.int32())})


# ---------------------------------------------------------------------------------------------
# std_stars (wide per band, generated with sqlglot)
# ---------------------------------------------------------------------------------------------
_BAND_COLUMNS = (
    ("mag", "DOUBLE", "AB magnitude of the star in the {band} standard passband: inverse-variance weighted mean of "
                      "its calibrated observations on photometric visits, absolute offset included; NULL when not "
                      "measured [mag]"),
    ("magerr", "DOUBLE", "formal error of mag_{band} (observation errors with the sigma0_phot floor) [mag]"),
    ("nobs", "INTEGER", "good observations on photometric visits used in mag_{band}"),
)


def _ensure_band_columns(db: Database, bands: Sequence[str]) -> None:
    """Add the mag_/magerr_/nobs_ columns of ``bands`` that std_stars lacks, with their comments."""
    present = {r[0] for r in db.con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = 'std_stars'"
    ).fetchall()}
    for band in bands:
        for prefix, dtype, comment in _BAND_COLUMNS:
            name = f"{prefix}_{band}"
            if name in present:
                continue
            db.con.execute(exp.Alter(this=exp.to_table("std_stars"), kind="TABLE", actions=[
                exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(dtype))
            ]).sql("duckdb"))
            db.con.execute(exp.Comment(
                this=exp.column(exp.to_identifier(name, quoted=True), "std_stars"), kind="COLUMN",
                expression=exp.Literal.string(comment.format(band=band)),
            ).sql("duckdb"))


def std_stars_insert_sql(bands: Sequence[str]) -> str:
    """The INSERT of std_stars for ``bands``: one row per calibration star, three columns per band.

    Reads star_flags (stars without the too-few-observations / bad-colour / variable bits), stars (position),
    star_mags (per band) and the registered frame products_offsets; parameters $run_id, $cycle, $tract.
    """
    m, f, s, o = "m", "f", "s", "o"
    cols: list[exp.Expression] = [
        exp.alias_(exp.Placeholder(this="run_id"), "run_id"), exp.alias_(exp.Placeholder(this="tract"), "tract"),
        exp.column("star_id", f), exp.column("ra", s), exp.column("dec", s), exp.column("reserved", f),
        exp.column("flag", f),
    ]
    names = ["run_id", "tract", "star_id", "ra", "dec", "reserved", "flag"]
    measured = exp.and_(exp.column("n_good", m) > 0, exp.func("isfinite", exp.column("mag_std", m)))
    for band in bands:
        is_band = exp.and_(exp.column("band", m).eq(exp.Literal.string(band)), measured)
        values = {
            "mag": exp.Add(this=exp.column("mag_std", m),
                           expression=exp.Coalesce(this=exp.column("offset_mag", o),
                                                   expressions=[exp.Literal.number("0.0")])),
            "magerr": exp.column("mag_std_err", m),
            "nobs": exp.column("n_good", m),
        }
        for prefix, dtype, _ in _BAND_COLUMNS:
            agg = exp.Max(this=exp.Case().when(is_band, values[prefix]))
            if prefix == "nobs":
                agg = exp.Coalesce(this=agg, expressions=[exp.Literal.number(0)])
            cols.append(exp.alias_(exp.cast(agg, dtype), exp.to_identifier(f"{prefix}_{band}", quoted=True)))
            names.append(f"{prefix}_{band}")
    key = {"run_id": exp.Placeholder(this="run_id"), "cycle": exp.Placeholder(this="cycle")}
    select = (
        exp.select(*cols)
        .from_(exp.to_table("star_flags").as_(f))
        .join(exp.to_table("stars").as_(s), on=exp.column("star_id", s).eq(exp.column("star_id", f)))
        .join(exp.to_table("star_mags").as_(m), join_type="left", on=exp.and_(
            exp.column("run_id", m).eq(exp.column("run_id", f)), exp.column("cycle", m).eq(exp.column("cycle", f)),
            exp.column("star_id", m).eq(exp.column("star_id", f))))
        .join(exp.to_table("products_offsets").as_(o), join_type="left",
              on=exp.column("band", o).eq(exp.column("band", m)))
        .where(exp.and_(
            exp.column("run_id", f).eq(key["run_id"]), exp.column("cycle", f).eq(key["cycle"]),
            exp.BitwiseAnd(this=exp.column("flag", f), expression=exp.Literal.number(_STAR_BAD_BITS)).eq(0)))
        .group_by(*[exp.column(c, t) for c, t in
                    (("star_id", f), ("ra", s), ("dec", s), ("reserved", f), ("flag", f))])
        .order_by(exp.column("star_id", f))
    )
    insert = exp.insert(select, exp.Schema(this=exp.to_table("std_stars"),
                                           expressions=[exp.to_identifier(n, quoted=True) for n in names]))
    return insert.sql("duckdb")


# ---------------------------------------------------------------------------------------------
# Transmission
# ---------------------------------------------------------------------------------------------
def transmission_grid(cfg: TractConfig) -> np.ndarray:
    """The 1 nm wavelength grid of the transmission curves, nm."""
    n = int(round((cfg.transmission_max_nm - cfg.transmission_min_nm) / TRANSMISSION_STEP_NM)) + 1
    return cfg.transmission_min_nm + TRANSMISSION_STEP_NM * np.arange(n)


def atmosphere_model(db: Database, cfg: TractConfig):
    """The atmosphere model of the look-up table (the built-in model, or [tract] atmosphere).

    Raises
    ------
    FgcmDbError
        The LUT was made from an atmosphere table and ``[tract] atmosphere`` does not name it.
    """
    from .atmosphere import load_atmosphere
    from .sites import get_site

    rows = db.execute("products_lut_source").fetchall()
    if not rows:
        raise FgcmDbError("the database has no look-up table: run `fgcm-db make-lut` or `fgcm-db calibrate-tract`")
    site, source = rows[0]
    if cfg.atmosphere:
        return load_atmosphere(cfg.atmosphere, get_site(site))
    if source != "builtin":
        raise FgcmDbError(f"the look-up table was made from the atmosphere table {source}: name that file with "
                          "[tract] atmosphere = \"PATH\" so the transmission curves use the same model")
    return load_atmosphere(None, get_site(site))


def transmission_curves(atmosphere, wavelength_nm: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """(n_visits, n_wavelengths) transmission at each visit's fitted parameters and boresight airmass."""
    n = len(params["visit"])
    if n == 0:
        return np.empty((0, len(wavelength_nm)))
    t = atmosphere.transmission(wavelength_nm, params["pwv"], params["o3"], params["tau"], params["alpha"],
                                params["airmass"], params["pmb"])
    return np.asarray(t, dtype=np.float64).reshape(n, len(wavelength_nm))


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ProductSummary:
    """Rows written per product table, and the absolute offsets."""

    n_photo_calib: int
    n_std_stars: int
    n_visits: int
    n_visits_calibrated: int
    n_transmission: int
    offsets: tuple[Offset, ...]


def write_products(db: Database, config, run_id: int, cycle: int, tract: int | None) -> ProductSummary:
    """Write every product of (run_id, cycle) for ``tract``, replacing that tract's earlier products.

    Runs inside the caller's transaction. ``config`` is the whole Config (uses ``config.tract``).
    """
    cfg: TractConfig = config.tract
    key = {"run_id": run_id, "cycle": cycle, "tract": tract}
    for table in PRODUCT_TABLES:
        db.execute(f"products_delete_{table}", {"tract": tract})
    bands = ordered_bands(r[0] for r in db.execute("products_bands", {"run_id": run_id, "cycle": cycle}).fetchall())
    offsets = absolute_offsets(db, cfg, run_id, cycle, bands)
    flags = _flag_params(cfg)
    db.settle()
    db.con.register("products_offsets", _offsets_frame(offsets))
    try:
        db.execute("products_absolute_calibration", key)
        db.execute("products_photo_calib", {**key, **flags})
        _write_cheb_coeffs(db, config, run_id, cycle, tract)
        _ensure_band_columns(db, bands)
        db.con.execute(std_stars_insert_sql(bands), {"run_id": run_id, "cycle": cycle, "tract": tract})
    finally:
        db.con.unregister("products_offsets")
    db.execute("products_visit_atmosphere", {**key, **flags})
    n_trans = _write_transmission(db, cfg, run_id, tract)
    counts = db.execute("products_counts", {"run_id": run_id}).fetchall()[0]
    return ProductSummary(n_photo_calib=int(counts[0]), n_std_stars=int(counts[1]), n_visits=int(counts[2]),
                          n_visits_calibrated=int(counts[3]), n_transmission=n_trans, offsets=tuple(offsets))


#: side of the grid of Chebyshev nodes on which calib(x, y) is fitted, beyond the order + 1 it needs
CHEB_GRID_EXTRA = 4


def calib_chebyshev(calib_mean: np.ndarray, shape: np.ndarray, order: int) -> np.ndarray:
    """Chebyshev coefficients (n, (order+2)^2) of ``calib(u, v) = calib_mean 10^(-0.4 S(u, v))``, nJy per count.

    ``S`` is the sub-detector superstar's shape of order ``order`` (mag, coefficients ``shape``
    (n, (order+1)^2) in the same layout, value 0 at the detector centre): the zero-point varies over the
    detector by ``S``, so the calibration in nJy per count by ``10^(-0.4 S)``. That is not a polynomial;
    the coefficients are the least-squares fit of **one order more** on a grid of
    (order + 2 + CHEB_GRID_EXTRA)^2 Chebyshev nodes. The extra order takes the exponential's quadratic
    term, 0.42 S^2: with the same order as S, the small tract's shapes (~25 mmag at a detector edge)
    left up to 0.12 mmag; with one more the error is the cubic term, < 2e-5 relative for |S| < 0.05 mag.
    """
    from .fit.subccd import basis

    flux_order = order + 1
    g = flux_order + 1 + CHEB_GRID_EXTRA
    nodes = np.cos(np.pi * (np.arange(g) + 0.5) / g)
    u, v = (a.reshape(-1) for a in np.meshgrid(nodes, nodes, indexing="xy"))
    shape_mag = np.asarray(shape) @ basis(u, v, order).T
    field = np.asarray(calib_mean, dtype=np.float64)[:, None] * 10.0 ** (-0.4 * shape_mag)
    coeffs, *_ = np.linalg.lstsq(basis(u, v, flux_order), field.T, rcond=None)
    return coeffs.T


def _write_cheb_coeffs(db: Database, config, run_id: int, cycle: int, tract: int | None) -> int:
    """Set ``photo_calib.cheb_coeffs`` of the tract's rows from the final cycle's sub-detector superstar
    (nothing when the fit had none, ``[fit] superstar_sub_ccd_order = 0``); returns the rows set."""
    from .fit.subccd import remove_centre

    ss = db.fetch_polars("products_superstar_cheb", {"run_id": run_id, "cycle": cycle})
    if ss.height == 0:
        return 0
    nc = len(ss["superstar_cheb"][0])
    order = math.isqrt(nc) - 1
    rows = db.fetch_polars("products_photo_calib_rows", {"tract": tract})
    if rows.height == 0:
        return 0
    epochs = np.asarray(config.fit.epoch_mjds, dtype=np.float64)
    rows = rows.with_columns(epoch=pl.Series(np.searchsorted(epochs, rows["mjd"].to_numpy(), side="right"),
                                             dtype=pl.Int32))
    ss = ss.with_columns(pl.col("epoch").cast(pl.Int32), pl.col("detector").cast(rows["detector"].dtype))
    joined = rows.join(ss, on=["epoch", "physical_filter", "detector"], how="inner")
    if joined.height == 0:
        return 0
    full = np.stack(joined["superstar_cheb"].to_list()).astype(np.float64)
    coeffs = calib_chebyshev(joined["calib_mean"].to_numpy(), remove_centre(full, order), order)
    frame = pa.table({"visit": joined["visit"].to_arrow(), "detector": joined["detector"].to_arrow(),
                      "cheb_coeffs": pa.array(list(coeffs), type=pa.list_(pa.float64()))})
    db.settle()
    db.con.register("products_cheb_frame", frame)
    try:
        db.execute("products_photo_calib_cheb", {"tract": tract})
    finally:
        db.con.unregister("products_cheb_frame")
    return frame.num_rows


def _write_transmission(db: Database, cfg: TractConfig, run_id: int, tract: int | None) -> int:
    t = db.fetch_arrow("products_visit_parameters", {"run_id": run_id})
    params = {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}
    ok = np.isfinite(params["airmass"].astype(np.float64))
    if not ok.all():
        log.warning("%d visit(s) without an airmass get no transmission curve", int((~ok).sum()))
        params = {k: v[ok] for k, v in params.items()}
    lam = transmission_grid(cfg)
    curves = transmission_curves(atmosphere_model(db, cfg), lam, params)
    frame = pa.table({
        "visit": np.repeat(params["visit"].astype(np.int64), len(lam)),
        "wavelength": np.tile(lam, len(params["visit"])),
        "transmission": curves.ravel(),
    })
    db.settle()
    db.con.register("products_transmission_frame", frame)
    try:
        db.execute("products_transmission", {"run_id": run_id, "tract": tract})
    finally:
        db.con.unregister("products_transmission_frame")
    return frame.num_rows


# ---------------------------------------------------------------------------------------------
# Applying photo_calib
# ---------------------------------------------------------------------------------------------
#: ``tract`` value of :func:`calibrate_flux` that takes every row
ANY_TRACT = "any"

_CALIB_COLUMNS = ("visit", "detector", "calib_mean", "cheb_coeffs", "bbox_width", "bbox_height", "i10", "i10_std",
                  "flag", "tract")


@dataclasses.dataclass
class PhotoCalib:
    """photo_calib rows as arrays, sorted by (visit, detector) for vectorised look-ups."""

    visit: np.ndarray
    detector: np.ndarray
    calib_mean: np.ndarray
    cheb_coeffs: list
    bbox_width: np.ndarray
    bbox_height: np.ndarray
    i10: np.ndarray
    i10_std: np.ndarray
    flag: np.ndarray

    @classmethod
    def from_arrow(cls, table: pa.Table, tract: int | None | str = "any") -> PhotoCalib:
        """From an Arrow table with the photo_calib columns (``tract``: see :func:`calibrate_flux`)."""
        missing = [c for c in _CALIB_COLUMNS if c not in table.column_names and c != "tract"]
        if missing:
            raise FgcmDbError(f"photo_calib table lacks column(s) {', '.join(missing)}")
        if tract != ANY_TRACT:
            if "tract" not in table.column_names:
                raise FgcmDbError("tract given but the photo_calib table has no tract column")
            col = table.column("tract")
            table = table.filter(pc.is_null(col) if tract is None else pc.fill_null(pc.equal(col, tract), False))

        def floats(name: str) -> np.ndarray:
            col = pc.cast(table.column(name), pa.float64())
            return pc.fill_null(col, float("nan")).to_numpy()

        visit = table.column("visit").to_numpy().astype(np.int64)
        det = table.column("detector").to_numpy().astype(np.int64)
        order = np.lexsort((det, visit))
        visit, det = visit[order], det[order]
        dup = (visit[1:] == visit[:-1]) & (det[1:] == det[:-1])
        if np.any(dup):
            raise FgcmDbError(f"photo_calib holds several rows for (visit {visit[1:][dup][0]}, detector "
                              f"{det[1:][dup][0]}) (several tracts): pass tract=N (or None for the "
                              "whole-database tract) to choose one")
        cheb = table.column("cheb_coeffs").to_pylist()
        return cls(visit=visit, detector=det, calib_mean=floats("calib_mean")[order],
                   cheb_coeffs=[cheb[i] for i in order], bbox_width=floats("bbox_width")[order],
                   bbox_height=floats("bbox_height")[order], i10=floats("i10")[order],
                   i10_std=floats("i10_std")[order], flag=table.column("flag").to_numpy()[order].astype(np.int64))

    def index(self, visit, detector) -> np.ndarray:
        """Row of each (visit, detector); -1 where photo_calib has none."""
        v, d = np.broadcast_arrays(np.asarray(visit, dtype=np.int64), np.asarray(detector, dtype=np.int64))
        if len(self.visit) == 0:
            return np.full(v.shape, -1, dtype=np.int64)
        # (visit, detector) pairs as one sortable key; rows are sorted by visit then detector
        scale = int(max(self.detector.max(), d.max(initial=0))) + 1
        key = self.visit * scale + self.detector
        want = v * scale + np.where((d >= 0) & (d < scale), d, scale - 1)
        pos = np.minimum(np.searchsorted(key, want), len(key) - 1)
        found = (self.visit[pos] == v) & (self.detector[pos] == d)
        return np.where(found, pos, -1)

    def calibration(self, rows: np.ndarray, x, y) -> np.ndarray:
        """calib(x, y) in nJy per count of the given rows (NaN for row -1)."""
        rows = np.asarray(rows)
        x = np.broadcast_to(np.asarray(x, dtype=np.float64), rows.shape)
        y = np.broadcast_to(np.asarray(y, dtype=np.float64), rows.shape)
        ok = rows >= 0
        r = np.where(ok, rows, 0)
        out = np.where(ok, self.calib_mean[r], np.nan) if len(self.calib_mean) else np.full(rows.shape, np.nan)
        lengths = np.array([0 if c is None else len(c) for c in self.cheb_coeffs], dtype=np.int64)
        for nc in np.unique(lengths[lengths > 0]):
            table = np.zeros((len(lengths), nc))
            which = np.flatnonzero(lengths == nc)
            table[which] = np.stack([np.asarray(self.cheb_coeffs[i], dtype=np.float64) for i in which])
            sel = ok & (lengths[r] == nc)
            rs = r[sel]
            out[sel] = _chebyshev_rows(table[rs], x[sel], y[sel], self.bbox_width[rs], self.bbox_height[rs])
        return out


def _chebyshev_rows(coeffs: np.ndarray, x, y, width, height) -> np.ndarray:
    """Per source, its own row of Chebyshev coefficients (n, (order+1)^2) evaluated at its (x, y)."""
    from .fit.subccd import basis

    n1 = math.isqrt(coeffs.shape[1])
    if n1 * n1 != coeffs.shape[1]:
        raise FgcmDbError(f"cheb_coeffs has {coeffs.shape[1]} values: not a square (order+1)^2 grid")
    u = (np.asarray(x, dtype=np.float64) + 0.5 - width / 2.0) / (width / 2.0)
    v = (np.asarray(y, dtype=np.float64) + 0.5 - height / 2.0) / (height / 2.0)
    return np.einsum("ij,ij->i", basis(u, v, n1 - 1), coeffs)


def chebyshev_field(coeffs: np.ndarray, x, y, width: float, height: float) -> np.ndarray:
    """Evaluate a photo_calib Chebyshev field (row-major (n+1)^2 grid, row = y order) at pixels (x, y)."""
    c = np.asarray(coeffs, dtype=np.float64)
    n1 = int(round(np.sqrt(len(c))))
    if n1 * n1 != len(c):
        raise FgcmDbError(f"cheb_coeffs has {len(c)} values: not a square (order+1)^2 grid")
    u = (np.asarray(x, dtype=np.float64) + 0.5 - width / 2.0) / (width / 2.0)
    v = (np.asarray(y, dtype=np.float64) + 0.5 - height / 2.0) / (height / 2.0)
    # chebval2d(u, v, C) = sum C[i, j] T_i(u) T_j(v); our grid is C[j_y, i_x]
    return np.polynomial.chebyshev.chebval2d(u, v, c.reshape(n1, n1).T)


def load_photo_calib(source, tract: int | None | str = "any") -> PhotoCalib:
    """photo_calib from an exported parquet file, a DuckDB file, an open Database or an Arrow table."""
    if isinstance(source, PhotoCalib):
        return source
    if isinstance(source, pa.Table):
        return PhotoCalib.from_arrow(source, tract)
    if isinstance(source, Database):
        return PhotoCalib.from_arrow(source.fetch_arrow("products_load_photo_calib"), tract)
    path = Path(source)
    if not path.exists():
        raise FgcmDbError(f"no photo_calib at {path}: give an exported photo_calib.parquet or a database file")
    if path.suffix == ".parquet":
        return PhotoCalib.from_arrow(pq.read_table(path), tract)
    with Database(path, read_only=True) as db:
        if not db.table_exists("photo_calib"):
            raise FgcmDbError(f"{path} has no photo_calib table: run `fgcm-db calibrate-tract` first")
        return PhotoCalib.from_arrow(db.fetch_arrow("products_load_photo_calib"), tract)


def calibrate_flux(visit, detector, x, y, inst_flux, source="photo_calib.parquet", sed_slope=None,
                   tract: int | None | str = "any") -> np.ndarray:
    """Calibrated flux (nJy) of sources from their instrumental flux (counts), with photo_calib.

    Parameters
    ----------
    visit, detector : array_like of int
        Keys of each source.
    x, y : array_like, pixels
        0-based position on the detector.
    inst_flux : array_like, counts
        Instrumental flux in the calibration aperture (``apFlux_12_0_instFlux``), whole exposure.
    source : str, Path, Database, pyarrow.Table or PhotoCalib
        An exported ``photo_calib.parquet``, a database file, an open Database, or loaded rows.
    sed_slope : array_like, 1/nm, optional
        SED slope F' per source (``star_mags.sed_slope``); applies the chromatic correction to the
        standard passband. None: flat f_nu SED.
    tract : int, None or "any"
        An int: that tract's rows; None: the rows of the whole-database tract (tract NULL); "any"
        (default): every row, which fails if several tracts calibrated the same (visit, detector).

    Returns
    -------
    ndarray, nJy
        NaN where the (visit, detector) has no calibration. AB mag = 31.4 - 2.5 log10(flux).
    """
    pc = load_photo_calib(source, tract)
    rows = pc.index(visit, detector)
    calib = pc.calibration(rows, x, y)
    flux = np.asarray(inst_flux, dtype=np.float64) * calib
    if sed_slope is not None:
        r = np.where(rows >= 0, rows, 0)
        f = np.asarray(sed_slope, dtype=np.float64)
        flux = flux * (1.0 + f * pc.i10_std[r]) / (1.0 + f * pc.i10[r])
    return flux


def ab_mag(flux_njy) -> np.ndarray:
    """AB magnitude of a flux in nJy: 31.4 - 2.5 log10(flux)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return NJY_AB_ZP - 2.5 * np.log10(np.asarray(flux_njy, dtype=np.float64))
