"""Finding and opening source catalogs: ``sourceTable_visit`` parquet (read by DuckDB with column
projection) and per-detector afw ``src`` FITS catalogs (read into Arrow with canonical names).

Both paths end in the canonical columns of :data:`fgcm_db.columns.SOURCE_COLUMNS` plus
``source_file`` and ``source_row`` (0-based row in the file), so everything downstream is identical.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot.expressions as exp

from .columns import SOURCE_COLUMNS, Mapping, kind_accepts, kind_of_arrow, resolve
from .errors import FgcmDbError
from .fitsbin import BinTable, read_bintables

log = logging.getLogger(__name__)

SOURCE_SUFFIXES = (".parquet", ".parq", ".pq", ".fits", ".fit")
_KIND_OF_TFORM = {"L": "bool", "B": "int", "I": "int", "J": "int", "K": "int", "E": "float", "D": "float", "A": "str"}
#: Arrow types of the canonical source columns (what the FITS path produces).
_ARROW_OF_KIND = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}


@dataclasses.dataclass
class ParquetSource:
    """One parquet source file: its row count and its column mapping."""

    path: Path
    num_rows: int
    mapping: Mapping
    arrow_types: tuple


def find_source_files(spec: str | Path) -> list[Path]:
    """Files named by ``--sources``: a file, a directory (every source file below it) or a glob.

    Raises
    ------
    FgcmDbError
        The path does not exist, the glob matches nothing, or the directory holds no source files.
    """
    text = str(spec)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise FgcmDbError(f"--sources {text}: the pattern matches no files")
        return files
    path = Path(text)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)
        if not files:
            raise FgcmDbError(f"--sources {path}: the directory holds no .parquet or .fits files")
        return files
    raise FgcmDbError(f"--sources {path}: no such file or directory")


def file_format(path: Path) -> str:
    """``"parquet"`` or ``"fits"`` from the file's magic bytes.

    Raises
    ------
    FgcmDbError
        Neither format, or a parquet file whose footer is missing (truncated).
    """
    with open(path, "rb") as fh:
        head = fh.read(9)
        if head[:4] == b"PAR1":
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(size - 4, 0))
            if size < 12 or fh.read(4) != b"PAR1":
                raise FgcmDbError(f"{path}: truncated parquet file (no footer); re-copy or re-write it")
            return "parquet"
        if head == b"SIMPLE  =":
            return "fits"
    raise FgcmDbError(f"{path}: not a parquet or FITS file (source tables must be parquet or afw src FITS)")


def check_mapping(path: Path, mapping: Mapping, kinds: dict[str, str | None], columns=SOURCE_COLUMNS) -> None:
    """Refuse a file that lacks required columns (all listed at once) or has a column of the wrong type."""
    if mapping.missing:
        raise FgcmDbError(
            f"{path}: missing required column(s) {', '.join(mapping.missing)} "
            "(names as in CONTRACT.md; case, 2020-era and afw variants are accepted)"
        )
    want = {c.name: c.kind for c in columns}
    for canonical, actual in mapping.found.items():
        have = kinds[actual]
        if not kind_accepts(want[canonical], have):
            raise FgcmDbError(
                f"{path}: column {actual} has type {have or 'unsupported'}, expected {want[canonical]} "
                f"(for {canonical})"
            )


def inspect_parquet(path: Path) -> ParquetSource:
    """Read a parquet footer (no data) and map its columns; checks names and types."""
    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt footers
        raise FgcmDbError(f"{path}: unreadable parquet footer ({str(exc).splitlines()[0]})") from None
    mapping = resolve(schema.names, SOURCE_COLUMNS)
    kinds = {f.name: kind_of_arrow(f.type) for f in schema}
    check_mapping(path, mapping, kinds)
    if "band" not in mapping.found and "physical_filter" not in mapping.found:
        raise FgcmDbError(f"{path}: missing required column(s) band or physical_filter (or its 2020 name filter)")
    types = tuple(str(schema.field(a).type) for a in mapping.found.values())
    return ParquetSource(path, meta.num_rows, mapping, types)


def parquet_batch_sql(files: Sequence[Path], mapping: Mapping, provenance_in_file: bool = False) -> str:
    """SELECT over ``read_parquet`` of ``files`` projecting and renaming to canonical names.

    Built with sqlglot expressions (file names become quoted literals); absent optional columns are
    NULL. ``source_file``/``source_row`` are the parquet file and row, or, with ``provenance_in_file``,
    columns of those names in the files (src FITS batches staged as parquet).
    """
    projections = []
    for col in SOURCE_COLUMNS:
        actual = mapping.found.get(col.name)
        value = exp.column(actual, quoted=True) if actual is not None else exp.Null()
        projections.append(exp.alias_(value, col.name, quoted=True))
    if provenance_in_file:
        projections += [exp.column("source_file", quoted=True), exp.column("source_row", quoted=True)]
    else:
        projections.append(exp.alias_(exp.column("filename"), "source_file"))
        projections.append(exp.alias_(exp.column("file_row_number"), "source_row"))
    reader = exp.func(
        "read_parquet",
        exp.Array(expressions=[exp.Literal.string(str(f)) for f in files]),
        exp.EQ(this=exp.var("filename"), expression=exp.false() if provenance_in_file else exp.true()),
        exp.EQ(this=exp.var("file_row_number"), expression=exp.false() if provenance_in_file else exp.true()),
        exp.EQ(this=exp.var("hive_partitioning"), expression=exp.false()),
    )
    return exp.select(*projections).from_(reader).sql("duckdb")


# ------------------------------------------------------------------------------------------------
# src FITS (afw SourceCatalog)
# ------------------------------------------------------------------------------------------------
def visit_detector_from_name(path: Path, pattern: str) -> tuple[int, int] | None:
    """(visit, detector) parsed from a file name with ``pattern`` (named groups), or None."""
    m = re.search(pattern, path.name)
    if m is None:
        return None
    return int(m.group("visit")), int(m.group("detector"))


def _angle_deg(table: BinTable, name: str, path: Path) -> np.ndarray:
    unit = (table.units.get(name) or "").strip().lower()
    values = table.column(name).astype(np.float64)
    if unit in ("rad", "radian", "radians"):
        return np.degrees(values)
    if unit in ("deg", "degree", "degrees"):
        return values
    raise FgcmDbError(
        f"{path}: column {name} has unit {unit or 'none'} (TUNIT); need rad or deg to convert it to degrees"
    )


def read_src_fits(path: Path, pattern: str, visit: int | None = None, detector: int | None = None) -> pa.Table:
    """One afw ``src`` catalog (HDU 1) as an Arrow table with canonical column names.

    Bits of the packed ``flags`` column are unpacked (vectorised) and named by the ``TFLAGn`` header
    keywords; ``coord_ra``/``coord_dec`` are converted to degrees according to their ``TUNITn``.
    ``visit``/``detector`` come from the arguments, else from the file name via ``pattern``.

    Raises
    ------
    FgcmDbError
        Not an afw catalog (no flag bits or no coordinates), missing columns, or no visit/detector.
    """
    tables = read_bintables(path, max_tables=1)
    if not tables:
        raise FgcmDbError(f"{path}: FITS file without a binary table: not an afw src catalog")
    table = tables[0]
    flag_col = "flags" if "flags" in table.bit_columns else None
    flag_names = [table.header[k] for k in _tflag_keys(table.header)]
    if flag_col is None or not flag_names:
        raise FgcmDbError(f"{path}: not an afw src catalog (no packed 'flags' column with TFLAGn names)")
    if "coord_ra" not in table.columns or "coord_dec" not in table.columns:
        raise FgcmDbError(f"{path}: not an afw src catalog (no coord_ra/coord_dec columns)")
    if visit is None or detector is None:
        parsed = visit_detector_from_name(path, pattern)
        if parsed is None:
            raise FgcmDbError(
                f"{path}: cannot tell its visit and detector: the file name does not match "
                f"[ingest] fits_name_pattern and --visit/--detector were not given"
            )
        visit = parsed[0] if visit is None else visit
        detector = parsed[1] if detector is None else detector

    names = [n for n in table.columns if n not in table.bit_columns] + flag_names
    mapping = resolve(names, SOURCE_COLUMNS)
    mapping.missing = [m for m in mapping.missing if m not in ("visit", "detector")]
    kinds = {n: _KIND_OF_TFORM.get(_tform_code(table, n)) for n in table.columns if n not in table.bit_columns}
    kinds.update({n: "bool" for n in flag_names})
    check_mapping(path, mapping, kinds)

    nrows = len(table.rows)
    bits = None
    flag_index = {name: i for i, name in enumerate(flag_names)}
    arrays = {}
    for col in SOURCE_COLUMNS:
        actual = mapping.found.get(col.name)
        if col.name == "visit":
            arrays[col.name] = np.full(nrows, visit, dtype=np.int64)
        elif col.name == "detector":
            arrays[col.name] = np.full(nrows, detector, dtype=np.int64)
        elif actual is None:
            arrays[col.name] = pa.nulls(nrows, _ARROW_OF_KIND[col.kind])
        elif actual in flag_index:
            if bits is None:
                bits = table.unpack_bits(flag_col)
            arrays[col.name] = bits[:, flag_index[actual]]
        elif col.name in ("coord_ra", "coord_dec"):
            arrays[col.name] = _angle_deg(table, actual, path)
        else:
            arrays[col.name] = table.column(actual)
    out = {k: (v if isinstance(v, pa.Array) else pa.array(v, _ARROW_OF_KIND[_kind(k)])) for k, v in arrays.items()}
    out["source_file"] = pa.array(np.full(nrows, str(path), dtype=object), pa.string())
    out["source_row"] = pa.array(np.arange(nrows, dtype=np.int64))
    return pa.table(out)


def _kind(name: str) -> str:
    return next(c.kind for c in SOURCE_COLUMNS if c.name == name)


def _tflag_keys(header: dict) -> list[str]:
    keys = [k for k in header if re.fullmatch(r"TFLAG\d+", k)]
    return sorted(keys, key=lambda k: int(k[5:]))


def _tform_code(table: BinTable, name: str) -> str:
    tform = str(table.header.get(f"TFORM{table.columns.index(name) + 1}", "")).strip()
    return re.sub(r"^\d*", "", tform)[:1]


def read_src_fits_many(paths: Sequence[Path], pattern: str, visit: int | None, detector: int | None,
                       threads: int) -> pa.Table:
    """Several src catalogs read in parallel threads, concatenated (one Arrow table)."""
    if threads > 1 and len(paths) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            tables = list(pool.map(lambda p: read_src_fits(p, pattern, visit, detector), paths))
    else:
        tables = [read_src_fits(p, pattern, visit, detector) for p in paths]
    return pa.concat_tables(tables)



# ------------------------------------------------------------------------------------------------
# Reference catalog (parquet: ra, dec in degrees; {band}_flux, {band}_fluxErr in nJy)
# ------------------------------------------------------------------------------------------------
_REF_FLUX_RE = re.compile(r"^(?P<band>.+)_flux$")


def read_refcat(path: str | Path) -> pa.Table:
    """A reference catalog in long format: one row per (star, band) with a flux column.

    ``ref_id`` is the file's ``id`` (or ``ref_id``) column, else the row number; ``mag`` is the AB
    magnitude ``31.4 - 2.5 log10(flux / nJy)`` (NULL for non-positive flux) and ``mag_err``
    ``2.5/ln(10) fluxErr / flux``.

    Raises
    ------
    FgcmDbError
        Missing or unreadable file, no ra/dec, or no ``{band}_flux``/``{band}_fluxErr`` pair.
    """
    from . import astro
    from .photometry import NJY_AB_ZP

    path = Path(path)
    if not path.is_file():
        raise FgcmDbError(f"--refcat {path}: no such file")
    if file_format(path) != "parquet":
        raise FgcmDbError(f"--refcat {path}: the reference catalog must be parquet")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        raise FgcmDbError(f"--refcat {path}: unreadable parquet ({str(exc).splitlines()[0]})") from None
    lower = {n.lower(): n for n in table.column_names}
    ra_name = lower.get("ra") or lower.get("coord_ra")
    dec_name = lower.get("dec") or lower.get("coord_dec") or lower.get("decl")
    if ra_name is None or dec_name is None:
        raise FgcmDbError(f"--refcat {path}: missing required column(s) ra, dec (degrees)")
    bands = [m.group("band") for n in table.column_names if (m := _REF_FLUX_RE.match(n))
             and f"{m.group('band')}_fluxErr" in table.column_names]
    if not bands:
        raise FgcmDbError(f"--refcat {path}: no {{band}}_flux / {{band}}_fluxErr column pairs (nJy)")
    ra = table[ra_name].to_numpy(zero_copy_only=False).astype(np.float64)
    dec = table[dec_name].to_numpy(zero_copy_only=False).astype(np.float64)
    bad = np.flatnonzero(~((ra >= 0) & (ra <= 360) & (dec >= -90) & (dec <= 90)))
    if bad.size:
        raise FgcmDbError(f"--refcat {path}: row {int(bad[0])}: ra/dec not finite degrees in range")
    id_name = lower.get("id") or lower.get("ref_id")
    ref_id = (table[id_name].to_numpy(zero_copy_only=False).astype(np.int64) if id_name
              else np.arange(len(ra), dtype=np.int64))
    healpix = astro.healpix_nest(ra, dec)
    n, nb = len(ra), len(bands)
    flux = np.concatenate([table[f"{b}_flux"].to_numpy(zero_copy_only=False).astype(np.float64) for b in bands])
    err = np.concatenate([table[f"{b}_fluxErr"].to_numpy(zero_copy_only=False).astype(np.float64) for b in bands])
    ok = np.isfinite(flux) & (flux > 0)
    mag = np.full(flux.shape, np.nan)
    mag[ok] = NJY_AB_ZP - 2.5 * np.log10(flux[ok])
    mag_err = np.full(flux.shape, np.nan)
    mag_err[ok] = 2.5 / np.log(10.0) * err[ok] / flux[ok]
    return pa.table({
        "ref_id": pa.array(np.tile(ref_id, nb)),
        "ra": pa.array(np.tile(ra, nb)),
        "dec": pa.array(np.tile(dec, nb)),
        "healpix": pa.array(np.tile(healpix, nb)),
        "band": pa.array(np.repeat(np.array(bands, dtype=object), n), pa.string()),
        "flux": pa.array(flux, from_pandas=True),
        "flux_err": pa.array(err, from_pandas=True),
        "mag": pa.array(mag, from_pandas=True),
        "mag_err": pa.array(mag_err, from_pandas=True),
    })
