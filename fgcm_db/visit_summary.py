"""The visit summary (``--visits``): one row per (visit, detector), from parquet or a FITS binary table,
checked and turned into the per-visit quantities every stage needs (night, hour angle, airmass).

A real afw ``visitSummary`` (ExposureCatalog) keeps exposure time, mid-exposure time, boresight and
weather not in its flat per-detector table (HDU 1) but in the archived ``VisitInfo`` HDU; this module
reads that HDU too (through the ``ARCHIVE_INDEX``), converting by each column's ``TUNITn``
(rad -> deg, Pascal -> hPa, TAI nanoseconds since 1970 -> MJD). In that catalog the ``detector``
column is an archive reference and the detector id is the record ``id``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import astro
from .columns import VISIT_COLUMNS, kind_of_arrow, resolve
from .errors import FgcmDbError
from .fitsbin import BinTable, read_bintables
from .readers import check_mapping, file_format
from .sites import Site

log = logging.getLogger(__name__)

#: MJD of the Unix epoch 1970-01-01T00:00 (afw VisitInfo stores TAI as nanoseconds since then).
MJD_UNIX_EPOCH = 40587.0

#: How to supply each required column when a file lacks it.
HOW_TO_SUPPLY = {
    "visit": "the visit (exposure) id",
    "detector": "the detector id (afw: the record id)",
    "expMidptMJD": "mid-exposure MJD (TAI): visitInfo.date, or visitTable.expMidptMJD",
    "expTime": "exposure time in s: visitInfo.exposureTime, or visitTable.expTime",
    "boresightRa": "boresight RA in degrees: visitInfo.boresightRaDec, or visitTable.ra",
    "boresightDec": "boresight Dec in degrees: visitInfo.boresightRaDec, or visitTable.dec",
}

_FLOAT_COLUMNS = ("expMidptMJD", "expTime", "zenithDistance", "boresightRa", "boresightDec",
                  "boresightRotAngle", "pressure", "psfSigma", "skyBg")


@dataclasses.dataclass
class VisitSummary:
    """The checked visit summary.

    Attributes
    ----------
    path : the file.
    rows : Arrow table, one row per (visit, detector), canonical names of
        :data:`fgcm_db.columns.VISIT_COLUMNS` (missing optional columns are null), band resolved.
    """

    path: Path
    rows: pa.Table

    @property
    def visits(self) -> np.ndarray:
        return np.unique(self.rows["visit"].to_numpy())


def read_visit_summary(path: str | Path, filter_to_band: dict[str, str]) -> VisitSummary:
    """Read and check a visit summary (parquet or FITS).

    Raises
    ------
    FgcmDbError
        Missing file, unreadable format, missing required columns (all listed, with how to supply
        them), wrong types, duplicate (visit, detector), non-positive exposure time, non-finite
        time or boresight, or a physical_filter without a band.
    """
    path = Path(path)
    if not path.is_file():
        raise FgcmDbError(f"--visits {path}: no such file")
    fmt = file_format(path)
    names, kinds, getter = _open_parquet(path) if fmt == "parquet" else _open_fits(path)
    mapping = resolve(names, VISIT_COLUMNS)
    if mapping.missing:
        hints = "; ".join(f"{m} ({HOW_TO_SUPPLY.get(m, 'see CONTRACT.md')})" for m in mapping.missing)
        raise FgcmDbError(f"visit summary {path}: missing required column(s) {', '.join(mapping.missing)}: add {hints}")
    check_mapping(path, mapping, kinds, VISIT_COLUMNS)
    if "band" not in mapping.found and "physical_filter" not in mapping.found:
        raise FgcmDbError(f"visit summary {path}: missing required column(s) band or physical_filter")

    n = None
    cols: dict[str, np.ndarray] = {}
    for col in VISIT_COLUMNS:
        actual = mapping.found.get(col.name)
        if actual is not None:
            cols[col.name] = getter(actual)
            n = len(cols[col.name])
    for col in VISIT_COLUMNS:
        if col.name not in cols:
            cols[col.name] = np.full(n, np.nan) if col.kind == "float" else np.full(n, None, dtype=object)
    cols["band"] = _resolve_band(path, cols["band"], cols["physical_filter"], filter_to_band)
    cols["physical_filter"] = np.where(_is_blank(cols["physical_filter"]), cols["band"], cols["physical_filter"])
    for name in _FLOAT_COLUMNS:
        cols[name] = np.asarray(cols[name], dtype=np.float64)
    _check_values(path, cols)
    rows = pa.table({
        "visit": pa.array(np.asarray(cols["visit"], dtype=np.int64)),
        "detector": pa.array(np.asarray(cols["detector"], dtype=np.int32)),
        "band": pa.array(cols["band"].astype(str)),
        "physical_filter": pa.array(cols["physical_filter"].astype(str)),
        **{name: pa.array(cols[name], from_pandas=True) for name in _FLOAT_COLUMNS},
        "source_row": pa.array(np.arange(n, dtype=np.int64)),
    })
    return VisitSummary(path, rows)


def _is_blank(values: np.ndarray) -> np.ndarray:
    return np.array([v is None or (isinstance(v, str) and not v.strip()) for v in values], dtype=bool)


def _resolve_band(path: Path, band, physical_filter, filter_to_band: dict[str, str]) -> np.ndarray:
    band = np.asarray(band, dtype=object)
    missing = _is_blank(band)
    if missing.any():
        mapped = np.array([filter_to_band.get(f) if isinstance(f, str) else None for f in physical_filter], dtype=object)
        band = np.where(missing, mapped, band)
        bad = np.flatnonzero(_is_blank(band))
        if bad.size:
            row = int(bad[0])
            raise FgcmDbError(
                f"visit summary {path}: row {row}: unknown band for physical_filter {physical_filter[row]!r}; "
                "add it to [ingest] filter_to_band or give a band column"
            )
    return band


def _check_values(path: Path, cols: dict[str, np.ndarray]) -> None:
    def fail(mask: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(mask)
        if bad.size:
            row = int(bad[0])
            raise FgcmDbError(f"visit summary {path}: row {row} (visit {int(cols['visit'][row])}): {what(row)}")

    exptime = cols["expTime"]
    fail(~(exptime > 0), lambda r: f"expTime {exptime[r]} is not a positive number of seconds")
    fail(~np.isfinite(cols["expMidptMJD"]), lambda r: "expMidptMJD is not finite")
    ra, dec = cols["boresightRa"], cols["boresightDec"]
    fail(~((ra >= 0) & (ra <= 360)), lambda r: f"boresightRa {ra[r]} is outside [0, 360] degrees")
    fail(~((dec >= -90) & (dec <= 90)), lambda r: f"boresightDec {dec[r]} is outside [-90, 90] degrees")
    key = np.asarray(cols["visit"], dtype=np.int64) * 100_000 + np.asarray(cols["detector"], dtype=np.int64)
    order = np.argsort(key, kind="stable")
    dup = np.zeros(len(key), dtype=bool)
    dup[order[1:]] = key[order[1:]] == key[order[:-1]]
    fail(dup, lambda r: f"detector {int(cols['detector'][r])} appears twice for this visit")


def _open_parquet(path: Path):
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        raise FgcmDbError(f"visit summary {path}: unreadable parquet ({str(exc).splitlines()[0]})") from None
    kinds = {f.name: kind_of_arrow(f.type) for f in table.schema}
    return table.column_names, kinds, lambda name: table[name].to_numpy(zero_copy_only=False)


def _open_fits(path: Path):
    tables = read_bintables(path)
    if not tables:
        raise FgcmDbError(f"visit summary {path}: FITS file without a binary table")
    main = tables[0]
    kinds, values = {}, {}
    codes = {"L": "bool", "B": "int", "I": "int", "J": "int", "K": "int", "E": "float", "D": "float", "A": "str"}
    for i, name in enumerate(main.columns, start=1):
        tform = str(main.header.get(f"TFORM{i}", "")).strip()
        repeat = tform[:-1] if len(tform) > 1 else "1"
        if name in main.bit_columns or repeat not in ("", "1") and tform[-1] != "A":
            continue  # flat columns only (corners, bit columns are not summary fields)
        if (main.docs.get(name) or "").startswith("archive ID") and name != "visitInfo":
            continue  # afw references into the archive, e.g. `detector` (the Detector object)
        kinds[name] = codes.get(tform[-1:])
        values[name] = main.column(name)
    if "detector" not in values and "id" in values:
        kinds["detector"], values["detector"] = kinds.pop("id"), values.pop("id")
    visit_info = _visit_info(tables, main, path)
    for name, column in visit_info.items():
        if name not in values:
            kinds[name], values[name] = "float", column
    return list(values), kinds, values.__getitem__


def _visit_info(tables: list[BinTable], main: BinTable, path: Path) -> dict[str, np.ndarray]:
    """Exposure time, mid-exposure MJD, boresight and pressure per row from the archived VisitInfo."""
    by_name = {str(t.header.get("EXTNAME", "")): t for t in tables[1:]}
    info, index = by_name.get("VisitInfo"), by_name.get("ARCHIVE_INDEX")
    if info is None or index is None or "visitInfo" not in main.columns:
        return {}
    ids = index.column("id")
    names = index.column("name")
    row0 = index.column("row0")
    lookup = {int(i): int(r) for i, r, nm in zip(ids, row0, names) if nm == "VisitInfo"}
    refs = main.column("visitInfo")
    if not all(int(r) in lookup for r in refs):
        log.warning("visit summary %s: a VisitInfo reference is not in the archive index", path)
        return {}
    rows = np.array([lookup[int(r)] for r in refs])

    def get(name: str) -> np.ndarray:
        return info.column(name).astype(np.float64)[rows]

    def angle(name: str) -> np.ndarray:
        unit = (info.units.get(name) or "").strip().lower()
        return np.degrees(get(name)) if unit == "rad" else get(name)

    out = {}
    if (info.units.get("tai") or "").strip() == "nsec":
        out["expMidptMJD"] = info.column("tai").astype(np.float64)[rows] / 86400e9 + MJD_UNIX_EPOCH
    out["expTime"] = get("exposuretime")
    out["boresightRa"] = np.mod(angle("boresightradec_ra"), 360.0)
    out["boresightDec"] = angle("boresightradec_dec")
    out["boresightRotAngle"] = angle("boresightrotangle")
    if (info.units.get("airpressure") or "").strip().lower() in ("pascal", "pa"):
        out["pressure"] = get("airpressure") / 100.0
    return out


def visit_rows(summary: VisitSummary, site: Site, ut_boundary_days: float) -> pa.Table:
    """One row per visit: the values of its lowest-numbered detector's row (fgcmcal uses a reference
    detector and falls back to the first row; time and boresight are common to all rows) plus

    - ``night`` = floor(mjd + ut_boundary_days);
    - ``hour_angle`` (deg) from the MJD (TAI), the site longitude and the boresight RA;
    - ``airmass`` = sec z at the boresight from hour angle, Dec and site latitude;
    - ``zenith_distance`` (deg) from the summary when given, else from the same geometry.
    """
    t = summary.rows
    visit = t["visit"].to_numpy()
    detector = t["detector"].to_numpy()
    order = np.lexsort((detector, visit))
    first = order[np.r_[True, visit[order][1:] != visit[order][:-1]]]
    pick = {name: t[name].to_numpy(zero_copy_only=False)[first] for name in t.column_names}
    mjd = pick["expMidptMJD"]
    ha = astro.hour_angle_deg(mjd, pick["boresightRa"], site.longitude_deg)
    airmass = astro.secant_zenith(ha, pick["boresightDec"], site.latitude_deg)
    zd = pick["zenithDistance"]
    zd = np.where(np.isfinite(zd), zd, astro.zenith_distance_deg(ha, pick["boresightDec"], site.latitude_deg))
    return pa.table({
        "visit": pa.array(pick["visit"]),
        "band": pa.array(pick["band"]),
        "physical_filter": pa.array(pick["physical_filter"]),
        "mjd": pa.array(mjd),
        "exptime": pa.array(pick["expTime"]),
        "night": pa.array(np.floor(mjd + ut_boundary_days).astype(np.int32)),
        "hour_angle": pa.array(ha),
        "boresight_ra": pa.array(pick["boresightRa"]),
        "boresight_dec": pa.array(pick["boresightDec"]),
        "boresight_rot": pa.array(pick["boresightRotAngle"], from_pandas=True),
        "zenith_distance": pa.array(zd, from_pandas=True),
        "airmass": pa.array(airmass, from_pandas=True),
        "pressure": pa.array(pick["pressure"], from_pandas=True),
    })
