"""Copy fields from a characterisation catalog (LSST's icSrc) onto the measured sources.

Each characterisation source claims the closest measured source within ``match_radius_pix``; a source
claimed twice keeps the closer claim (LSST keeps all and warns). Claimed sources get ``calib_detected``
and the copied boolean fields (``calib_psf_candidate``, ``calib_psf_used``, ``calib_psf_reserved``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from astropy.table import Table
from scipy.spatial import cKDTree

from .errors import InputError

_X = ("x", "slot_Centroid_x", "base_SdssCentroid_x", "centroid_x")
_Y = ("y", "slot_Centroid_y", "base_SdssCentroid_y", "centroid_y")


def read_icsrc(path: str | Path, fields: list[str]) -> dict[str, np.ndarray]:
    """Pixel positions (0-based) ``x``, ``y`` and the requested boolean fields of a parquet or FITS table.

    Raises
    ------
    InputError
        Unreadable file, or missing position columns or fields (all of them listed at once).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot open characterisation catalog {path}: no such file")
    try:
        if path.suffix in (".parquet", ".parq"):
            table = {k: v.to_numpy(zero_copy_only=False) for k, v in zip(*_parquet_columns(path))}
        else:
            fits_table = Table.read(path)
            table = {k: np.asarray(fits_table[k]) for k in fits_table.colnames}
    except Exception as exc:
        raise InputError(f"cannot read characterisation catalog {path}: {str(exc).splitlines()[0]}") from None
    cols = list(table)
    xcol = next((c for c in _X if c in cols), None)
    ycol = next((c for c in _Y if c in cols), None)
    missing = ([] if xcol else ["x"]) + ([] if ycol else ["y"]) + [f for f in fields if f not in cols]
    if missing:
        raise InputError(f"characterisation catalog {path} lacks column(s) {', '.join(missing)}; "
                         f"columns found: {', '.join(cols[:20])}")
    out = {"x": np.asarray(table[xcol], dtype=np.float64), "y": np.asarray(table[ycol], dtype=np.float64)}
    for f in fields:
        out[f] = np.asarray(table[f], dtype=bool)
    return out


def _parquet_columns(path: Path):
    table = pq.read_table(path)
    return table.column_names, table.columns


def copy_icsrc(x: np.ndarray, y: np.ndarray, eligible: np.ndarray, icsrc: dict[str, np.ndarray],
               fields: list[str], match_radius_pix: float) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Match and copy; returns (calib_detected per source, {field: values per source}, n_conflicts)."""
    n = len(x)
    detected = np.zeros(n, bool)
    copied = {f: np.zeros(n, bool) for f in fields}
    idx = np.flatnonzero(eligible)
    if len(idx) == 0 or len(icsrc["x"]) == 0:
        return detected, copied, 0
    d, j = cKDTree(np.c_[x[idx], y[idx]]).query(np.c_[icsrc["x"], icsrc["y"]],
                                                distance_upper_bound=match_radius_pix)
    ic = np.flatnonzero(np.isfinite(d))
    target, dist = idx[j[ic]], d[ic]
    order = np.argsort(dist, kind="stable")
    _, first = np.unique(target[order], return_index=True)
    keep = order[first]
    n_conflicts = len(ic) - len(keep)
    detected[target[keep]] = True
    for f in fields:
        copied[f][target[keep]] = icsrc[f][ic[keep]]
    return detected, copied, n_conflicts
