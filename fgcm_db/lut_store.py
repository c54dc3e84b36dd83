"""Moving a :class:`~fgcm_db.lut_table.LookUpTable` to and from the database.

Tables (migrations/0003_lut.sql): ``lut_meta`` (one row), ``lut_axes`` (axis, idx, value),
``lut_std`` (per filter), ``lut_values`` (per filter x detector row: the moment table as a FLOAT[]
array), ``std_atmosphere`` and ``std_passband``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .atmosphere import LAMBDA_NORM_NM
from .errors import FgcmDbError
from .lut_table import LookUpTable

_TABLES = ("meta", "axes", "std", "values", "std_atmosphere", "std_passband")


def store_lut(db, lut: LookUpTable, run_id: int = 0) -> None:
    """Replace the stored LUT and standard system with ``lut`` (call inside ``db.stage``)."""
    lam = lut.wavelength_nm
    nf, nd1 = lut.values.shape[:2]
    frames = {
        "lut_meta_new": pa.table({
            "run_id": [int(run_id)], "site": [lut.site], "atmosphere_source": [lut.atmosphere_source],
            "throughput_source": [lut.throughput_source], "pressure_ref_hpa": [lut.pressure_ref_hpa],
            "std_pwv_mm": [lut.standard["pwv_mm"]], "std_o3_du": [lut.standard["o3_du"]],
            "std_tau": [lut.standard["tau"]], "std_alpha": [lut.standard["alpha"]],
            "std_airmass": [lut.standard["airmass"]], "std_pressure_hpa": [lut.standard["pressure_hpa"]],
            "lambda_norm_nm": [LAMBDA_NORM_NM], "wavelength_min_nm": [float(lam[0])],
            "wavelength_max_nm": [float(lam[-1])], "wavelength_step_nm": [float(np.median(np.diff(lam)))],
            "detectors": pa.array([lut.detectors.astype(np.int32).tolist()], pa.list_(pa.int32())),
            "aerosol_nodes": [int(lut.aerosol_lambda_nm.shape[1])], "node_values": [int(lut.values.shape[-1])],
        }),
        "lut_axes_new": pa.table({
            "axis": [a for a, v in lut.axes.items() for _ in v],
            "idx": [i for v in lut.axes.values() for i in range(len(v))],
            "value": np.concatenate([np.asarray(v, dtype=np.float64) for v in lut.axes.values()]),
        }),
        "lut_std_new": pa.table({
            "filter_idx": np.arange(nf, dtype=np.int32), "physical_filter": lut.physical_filters,
            "band": lut.bands, "std_physical_filter": lut.std_physical_filters,
            "lambda_std": lut.lambda_std, "lambda_std_filter": lut.lambda_std_filter, "lambda_b": lut.lambda_b,
            "i0_std": lut.i0_std, "i1_std": lut.i1_std, "i10_std": lut.i10_std, "i2_std": lut.i2_std,
            "aerosol_lambda_nm": pa.array(lut.aerosol_lambda_nm.tolist(), pa.list_(pa.float64())),
        }),
        "lut_values_new": pa.table({
            "filter_idx": np.repeat(np.arange(nf, dtype=np.int32), nd1),
            "row_idx": np.tile(np.arange(nd1, dtype=np.int32), nf),
            "detector": pa.array([None if d < 0 else int(d) for d in np.tile(np.append(lut.detectors, -1), nf)],
                                 pa.int32()),
            "moments": pa.FixedSizeListArray.from_arrays(
                pa.array(lut.values.reshape(-1), pa.float32()), int(np.prod(lut.values.shape[2:]))
            ).cast(pa.list_(pa.float32())),
        }),
        "std_atmosphere_new": pa.table({"wavelength": lam, "transmission": lut.std_atmosphere}),
        "std_passband_new": pa.table({
            "physical_filter": np.repeat(np.asarray(lut.physical_filters, dtype=object), len(lam)).tolist(),
            "band": np.repeat(np.asarray(lut.bands, dtype=object), len(lam)).tolist(),
            "wavelength": np.tile(lam, nf), "throughput": lut.std_passbands.reshape(-1),
        }),
    }
    for t in _TABLES:
        db.execute(f"lut_delete_{t}")
    for name, frame in frames.items():
        db.con.register(name, frame)
    try:
        for t in ("lut_meta", "lut_axes", "lut_std", "lut_values", "std_atmosphere", "std_passband"):
            db.execute(t)
    finally:
        for name in frames:
            db.con.unregister(name)


def load_lut(db) -> LookUpTable:
    """The stored LUT (FgcmDbError when make-lut has not run)."""
    if not db.table_exists("lut_meta") or db.execute("lut_count_meta").fetchall()[0][0] == 0:
        raise FgcmDbError(f"database {db.path} has no look-up table: run `fgcm-db make-lut` first")
    meta = db.fetch_arrow("lut_load_meta").to_pylist()[0]
    axes_t = db.fetch_arrow("lut_load_axes").to_pydict()
    axes = {}
    for a, v in zip(axes_t["axis"], axes_t["value"]):
        axes.setdefault(a, []).append(v)
    axes = {k: np.asarray(v) for k, v in axes.items()}
    std = db.fetch_arrow("lut_load_std").to_pydict()
    vals = db.fetch_arrow("lut_load_values")
    atm = db.fetch_arrow("lut_load_std_atmosphere").to_pydict()
    passb = db.fetch_arrow("lut_load_std_passband").to_pydict()
    detectors = np.asarray(meta["detectors"], dtype=np.int64)
    nf, nd1 = len(std["physical_filter"]), len(detectors) + 1
    shape = (nf, nd1, len(axes["lnpwv"]), len(axes["secz"]), int(meta["node_values"]))
    flat = vals.column("moments").combine_chunks().flatten().to_numpy()
    if flat.size != np.prod(shape):
        raise FgcmDbError(f"database {db.path}: lut_values holds {flat.size} numbers, expected {np.prod(shape)}; "
                          "rerun `fgcm-db make-lut`")
    lam = np.asarray(atm["wavelength"])
    filters = list(std["physical_filter"])
    pb_filters = np.asarray(passb["physical_filter"], dtype=object)
    pb_tp = np.asarray(passb["throughput"])
    std_pass = np.stack([pb_tp[pb_filters == f] for f in filters])
    standard = {"pwv_mm": meta["std_pwv_mm"], "o3_du": meta["std_o3_du"], "tau": meta["std_tau"],
                "alpha": meta["std_alpha"], "airmass": meta["std_airmass"], "pressure_hpa": meta["std_pressure_hpa"]}
    return LookUpTable(
        physical_filters=filters, bands=list(std["band"]), std_physical_filters=list(std["std_physical_filter"]),
        detectors=detectors, wavelength_nm=lam,
        lambda_std=np.asarray(std["lambda_std"]), lambda_std_filter=np.asarray(std["lambda_std_filter"]),
        lambda_b=np.asarray(std["lambda_b"]), i0_std=np.asarray(std["i0_std"]), i1_std=np.asarray(std["i1_std"]),
        i10_std=np.asarray(std["i10_std"]), i2_std=np.asarray(std["i2_std"]),
        std_passbands=std_pass, std_atmosphere=np.asarray(atm["transmission"]), standard=standard,
        site=meta["site"], atmosphere_source=meta["atmosphere_source"], throughput_source=meta["throughput_source"],
        pressure_ref_hpa=float(meta["pressure_ref_hpa"]), axes=axes,
        aerosol_lambda_nm=np.asarray(std["aerosol_lambda_nm"], dtype=np.float64), values=flat.reshape(shape),
    )
