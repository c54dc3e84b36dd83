"""Instrument throughput (filter x optics x detector, no atmosphere) per physical filter and detector.

Three sources, all resampled onto one wavelength grid (:data:`WAVELENGTH_GRID_NM`, 300-1100 nm at
0.5 nm, FGCM's grid):

- :func:`default_throughput`: HSC g, r, i, z, y from the ``speclite`` package (``hsc2017-*``,
  Kawanomoto et al. 2018, PASJ 70, 66). Those are total-system curves that include the Mauna Kea
  atmosphere at airmass 1.2 (MODTRAN, PWV 1.5 mm); we divide that atmosphere out with our
  built-in model at those parameters, averaged over the curves' 10 A bins.
- a user file in the CONTRACT.md format (parquet or CSV: ``physical_filter``, ``wavelength`` nm,
  ``throughput`` 0..1, optional ``detector`` and ``band``);
- the HSC per-component directory layout (``hsc_filter_radial_<f>.txt``, ``qe_ccd_HSC.txt``,
  ``throughput_popt2.txt``, ``throughput_win.txt``, ``M1-2010s.txt``): one curve per detector, the
  filter transmission taken at the detector centre's focal-plane radius.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from .camera import Camera
from .errors import FgcmDbError

log = logging.getLogger(__name__)

#: The common wavelength grid of throughputs and the LUT, nm (FGCM: 3000-11000 A in 5 A steps).
WAVELENGTH_GRID_NM = np.round(np.arange(300.0, 1100.0 + 0.25, 0.5), 6)

#: HSC physical filter names, keyed by the short names of the component files, and their bands.
HSC_FILTERS = {
    "g": ("HSC-G", "g"), "r": ("HSC-R", "r"), "r2": ("HSC-R2", "r"), "i": ("HSC-I", "i"),
    "i2": ("HSC-I2", "i"), "z": ("HSC-Z", "z"), "y": ("HSC-Y", "y"),
    "N387": ("NB0387", "N387"), "N816": ("NB0816", "N816"), "N921": ("NB0921", "N921"),
    "N1010": ("NB1010", "N1010"),
}
_BAND_OF = {phys: band for phys, band in HSC_FILTERS.values()}

#: Atmosphere included in speclite's HSC curves (Kawanomoto et al. 2018: Mauna Kea, airmass 1.2,
#: PWV 1.5 mm); the other parameters are our Mauna Kea standard values.
HSC_CURVE_ATMOSPHERE = {"pwv_mm": 1.5, "o3_du": 263.0, "tau": 0.03, "alpha": 1.0, "airmass": 1.2}


class Throughput:
    """Instrument throughput curves on one wavelength grid.

    Parameters
    ----------
    wavelength_nm : ndarray (L,), nm, increasing.
    mean_curves : dict physical_filter -> ndarray (L,), the focal-plane mean curve.
    detector_curves : dict physical_filter -> (detector ids (D,), curves (D, L)), optional.
    bands : dict physical_filter -> band.
    source : str, description of where the curves came from.
    """

    def __init__(self, wavelength_nm, mean_curves: dict, detector_curves: dict | None = None,
                 bands: dict | None = None, source: str = "throughput"):
        self.wavelength_nm = np.asarray(wavelength_nm, dtype=np.float64)
        self.physical_filters = list(mean_curves)
        self._mean = {f: np.asarray(c, dtype=np.float64) for f, c in mean_curves.items()}
        self._det = {}
        for f, (ids, curves) in (detector_curves or {}).items():
            ids = np.asarray(ids, dtype=np.int64)
            order = np.argsort(ids)
            self._det[f] = (ids[order], np.asarray(curves, dtype=np.float64)[order])
        self._bands = {f: (bands or {}).get(f) or _BAND_OF.get(f, f) for f in self.physical_filters}
        self.source = source
        ids = [ids for ids, _ in self._det.values()]
        self.detectors = np.unique(np.concatenate(ids)) if ids else np.zeros(0, dtype=np.int64)

    def band(self, physical_filter: str) -> str:
        """The abstract band of a physical filter (e.g. HSC-I2 -> i)."""
        self._check(physical_filter)
        return self._bands[physical_filter]

    def _check(self, physical_filter: str) -> None:
        if physical_filter not in self._mean:
            raise FgcmDbError(
                f"throughput {self.source} has no curve for physical filter {physical_filter!r}; "
                f"it has {', '.join(self.physical_filters)}"
            )

    def curve(self, physical_filter: str, detector: int | None = None) -> np.ndarray:
        """Throughput (L,) of a filter on a detector; ``None`` or a detector without its own curve
        gives the focal-plane mean."""
        self._check(physical_filter)
        if detector is not None and physical_filter in self._det:
            ids, curves = self._det[physical_filter]
            k = np.searchsorted(ids, detector)
            if k < len(ids) and ids[k] == detector:
                return curves[k]
        return self._mean[physical_filter]

    def detector_curves(self, physical_filter: str, detectors) -> np.ndarray:
        """Curves (D, L) for the given detector ids (the mean curve for those without their own)."""
        return np.stack([self.curve(physical_filter, int(d)) for d in detectors]) if len(detectors) else (
            np.zeros((0, len(self.wavelength_nm))))

    def select(self, physical_filters) -> Throughput:
        """A throughput with only the given filters (FgcmDbError naming a missing one)."""
        for f in physical_filters:
            self._check(f)
        return Throughput(self.wavelength_nm, {f: self._mean[f] for f in physical_filters},
                          {f: self._det[f] for f in physical_filters if f in self._det},
                          {f: self._bands[f] for f in physical_filters}, self.source)


# ----------------------------------------------------------------------------------------------
def _resample(wavelength_nm, values, grid=WAVELENGTH_GRID_NM) -> np.ndarray:
    """Linear resampling onto ``grid``; zero outside the curve's range; clipped to [0, 1]."""
    return np.clip(np.interp(grid, wavelength_nm, values, left=0.0, right=0.0), 0.0, 1.0)


def _check_curve(wl: np.ndarray, tp: np.ndarray, where: str) -> None:
    if len(wl) < 2:
        raise FgcmDbError(f"{where}: a curve needs at least two wavelengths")
    if not (np.all(np.isfinite(wl)) and np.all(np.isfinite(tp))):
        raise FgcmDbError(f"{where}: non-finite wavelength or throughput")
    if np.any(wl <= 0):
        raise FgcmDbError(f"{where}: wavelength must be positive nm (found {wl[wl <= 0][0]:g})")
    if np.any(np.diff(wl) <= 0):
        k = int(np.argmax(np.diff(wl) <= 0))
        raise FgcmDbError(
            f"{where}: wavelengths must be strictly increasing within a curve (its rows {k + 1} and {k + 2}: "
            f"{wl[k]:g} then {wl[k + 1]:g} nm); sort the file by physical_filter, detector, wavelength"
        )
    if np.any(tp < 0) or np.any(tp > 1.5):
        raise FgcmDbError(f"{where}: throughput must be a fraction in 0..1 (found {tp[(tp < 0) | (tp > 1.5)][0]:g})")
    if wl.min() > 1100 or wl.max() < 300:
        raise FgcmDbError(f"{where}: wavelengths {wl.min():g}-{wl.max():g} are outside 300-1100 nm; "
                          "the wavelength column must be in nm")


def default_throughput() -> Throughput:
    """HSC g, r, i, z, y (HSC-G ... HSC-Y) from speclite, with the airmass-1.2 atmosphere divided out.

    speclite's ``hsc2017-*`` curves are total system responses (mirror, corrector, filter, CCD QE and a
    Mauna Kea MODTRAN atmosphere at airmass 1.2, PWV 1.5 mm) sampled every 10 A. We divide them by our
    :class:`~fgcm_db.atmosphere.BuiltinAtmosphere` at :data:`HSC_CURVE_ATMOSPHERE`, evaluated on the
    curves' own 10 A grid (the model's gas absorption is a bin mean there), and resample to the 0.5 nm
    grid. Inside a filter's passband, the bins of the deep O2 bands (bin-mean O2 transmission < 0.97)
    are ill-conditioned for the division (the two models' O2 depths differ); there the instrument
    curve is interpolated linearly from the neighbouring bins, as the instrument is smooth on that
    scale. There is no per-detector information (``detectors`` is empty).
    """
    import speclite.filters

    from .atmosphere import BuiltinAtmosphere

    atm = BuiltinAtmosphere()
    p = dict(HSC_CURVE_ATMOSPHERE, pressure_hpa=atm.site.pressure_std_hpa)
    curves = {}
    for short in ("g", "r", "i", "z", "y"):
        filt = speclite.filters.load_filter(f"hsc2017-{short}")
        wl = np.asarray(filt.wavelength, dtype=np.float64) / 10.0
        resp = np.clip(np.asarray(filt.response, dtype=np.float64), 0.0, None)
        wl_atm = np.clip(wl, 300.0, 1200.0)
        t_bin = atm.transmission(wl_atm, p["pwv_mm"], p["o3_du"], p["tau"], p["alpha"], p["airmass"], p["pressure_hpa"])
        inst = resp / np.maximum(t_bin, 0.05)
        o2 = atm.components(wl_atm, p["pwv_mm"], p["o3_du"], p["airmass"], p["pressure_hpa"])["o2"][0]
        in_band = np.convolve(inst > 0.5 * inst.max(), np.ones(5), mode="same") == 5   # +-2 bins inside the band
        bad = (o2 < 0.97) & in_band
        if np.any(bad):
            inst[bad] = np.interp(wl[bad], wl[~bad], inst[~bad])
        curves[HSC_FILTERS[short][0]] = _resample(wl, inst)
    return Throughput(WAVELENGTH_GRID_NM, curves, None, None, "speclite hsc2017 (atmosphere divided out)")


# ----------------------------------------------------------------------------------------------
def load_throughput(path: str | Path | None, camera: Camera | None = None) -> Throughput:
    """Read a throughput file (CONTRACT.md format) or an HSC component directory; None = default.

    Parameters
    ----------
    path : file (parquet or CSV) or directory, or None for :func:`default_throughput`.
    camera : Camera, optional
        For the HSC directory: the detectors to build curves for (their centre radius picks the
        filter transmission); default: the science detectors of the directory's
        ``hsc_detectors.csv``. For a file: per-detector curves must name detectors of this camera.
    """
    if path is None:
        return default_throughput()
    path = Path(path)
    if path.is_dir():
        return _load_hsc_directory(path, camera)
    if not path.is_file():
        raise FgcmDbError(f"throughput {path} does not exist")
    return _load_table(path, camera)


def _load_table(path: Path, camera: Camera | None) -> Throughput:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path) if path.suffix.lower() in (".parquet", ".parq", ".pq") else pacsv.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
        raise FgcmDbError(f"throughput file {path} is not a readable parquet or CSV file: {exc}") from None
    missing = [c for c in ("physical_filter", "wavelength", "throughput") if c not in table.column_names]
    if missing:
        raise FgcmDbError(f"throughput file {path} lacks column(s) {', '.join(missing)} "
                          "(needs physical_filter, wavelength [nm], throughput [0..1], optional detector)")
    filt = np.asarray(table["physical_filter"].to_pylist(), dtype=object)
    try:
        wl = np.asarray(table["wavelength"].to_numpy(zero_copy_only=False), dtype=np.float64)
        tp = np.asarray(table["throughput"].to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FgcmDbError(f"throughput file {path}: wavelength/throughput must be numbers ({exc})") from None
    if "detector" in table.column_names:
        det_col = table["detector"].to_pylist()
        det = np.array([-1 if d is None else int(d) for d in det_col], dtype=np.int64)
    else:
        det = np.full(len(wl), -1, dtype=np.int64)
    bands = {}
    if "band" in table.column_names:
        for f, b in zip(filt, table["band"].to_pylist()):
            if b:
                bands.setdefault(f, b)
    means, dets = {}, {}
    for f in dict.fromkeys(filt.tolist()):
        if f is None or f == "":
            raise FgcmDbError(f"throughput file {path}: empty physical_filter")
        sel = filt == f
        ids = np.unique(det[sel])
        curves = {}
        for d in ids:
            rows = sel & (det == d)
            where = f"throughput file {path}, filter {f}" + ("" if d < 0 else f", detector {d}")
            _check_curve(wl[rows], tp[rows], where)
            curves[int(d)] = _resample(wl[rows], tp[rows])
        per_det = {d: c for d, c in curves.items() if d >= 0}
        if per_det:
            ids_d = np.array(sorted(per_det))
            if camera is not None:
                unknown = ids_d[camera.index_of(ids_d) < 0]
                if len(unknown):
                    raise FgcmDbError(f"throughput file {path}: filter {f} has curves for detector(s) "
                                      f"{unknown.tolist()[:5]} that camera {camera.name!r} does not list")
            dets[f] = (ids_d, np.stack([per_det[d] for d in ids_d]))
        means[f] = curves.get(-1, np.mean(np.stack(list(per_det.values())), axis=0) if per_det else None)
        if not np.any(means[f] > 0):
            raise FgcmDbError(f"throughput file {path}: filter {f} has zero throughput everywhere")
    if not means:
        raise FgcmDbError(f"throughput file {path} has no rows")
    return Throughput(WAVELENGTH_GRID_NM, means, dets, bands, str(path))


def _read_columns(path: Path, wavelength_unit_nm: float) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as exc:
        raise FgcmDbError(f"HSC throughput component {path} is not readable: {exc}") from None
    wl = data[:, 0] * wavelength_unit_nm
    order = np.argsort(wl)
    return wl[order], data[order, 1]


def _read_radial(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wavelength nm (L,), radius mm (R,), transmission (L, R)) of one ``hsc_filter_radial`` file."""
    radii = None
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            m = re.search(r"radius \[mm\] = ([0-9 .]+)", line)
            if m:
                radii = np.array(m.group(1).split(), dtype=np.float64)
    if radii is None:
        raise FgcmDbError(f"{path}: header lacks the 'radius [mm] = ...' line listing the columns' radii")
    data = np.loadtxt(path, comments="#", ndmin=2)
    if data.shape[1] != len(radii) + 1:
        raise FgcmDbError(f"{path}: {data.shape[1] - 1} transmission columns but {len(radii)} radii in the header")
    return data[:, 0], radii, data[:, 1:]


def hsc_camera_from_csv(path: Path) -> Camera:
    """Science detectors of an ``hsc_detectors.csv`` layout (offsets in mm, yaw in degrees)."""
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(path, read_options=pacsv.ReadOptions(skip_rows=1)).to_pydict()
    keep = np.asarray(t["detectorType"]) == 0
    n = int(keep.sum())
    return Camera(
        detector=np.asarray(t["id"])[keep], x_size=np.asarray(t["nx"])[keep], y_size=np.asarray(t["ny"])[keep],
        fp_x=np.asarray(t["offset_x_mm"], dtype=np.float64)[keep],
        fp_y=np.asarray(t["offset_y_mm"], dtype=np.float64)[keep],
        pixel_scale=np.full(n, 0.168), rotation=np.asarray(t["yaw_deg"], dtype=np.float64)[keep],
        pixel_size_mm=np.full(n, 0.015), is_science=np.ones(n, dtype=bool), name="hsc",
    )


def _load_hsc_directory(path: Path, camera: Camera | None) -> Throughput:
    components = {"qe_ccd_HSC.txt": 0.1, "throughput_popt2.txt": 0.1, "throughput_win.txt": 0.1,
                  "M1-2010s.txt": 1.0}
    missing = [c for c in components if not (path / c).is_file()]
    order = list(HSC_FILTERS)
    radial = sorted(path.glob("hsc_filter_radial_*.txt"),
                    key=lambda q: (order.index(q.stem[18:]) if q.stem[18:] in order else len(order), q.name))
    if missing or not radial:
        raise FgcmDbError(
            f"throughput directory {path} is not an HSC component directory: missing "
            f"{', '.join(missing + ([] if radial else ['hsc_filter_radial_<filter>.txt']))}"
        )
    if camera is None:
        layout = path / "hsc_detectors.csv"
        if not layout.is_file():
            raise FgcmDbError(f"throughput directory {path}: give --camera, or put hsc_detectors.csv there")
        camera = hsc_camera_from_csv(layout)
    grid = WAVELENGTH_GRID_NM
    common = np.ones_like(grid)
    for name, unit in components.items():
        wl, val = _read_columns(path / name, unit)
        # hold the end values outside the measured range (the filters cut off well inside it)
        common *= np.clip(np.interp(grid, wl, val), 0.0, 1.0)
    radius = camera.radius_mm()
    means, dets, bands = {}, {}, {}
    for fpath in radial:
        short = fpath.stem.replace("hsc_filter_radial_", "")
        phys, band = HSC_FILTERS.get(short, (short, short))
        wl, radii, trans = _read_radial(fpath)
        on_grid = np.stack([_resample(wl, trans[:, j], grid) for j in range(len(radii))], axis=1)  # (L, R)
        if np.any(radius > radii[-1] + 1e-9):
            log.warning("%s: detectors beyond %.0f mm use the outermost filter trace", fpath.name, radii[-1])
        r = np.clip(radius, radii[0], radii[-1])
        j = np.clip(np.searchsorted(radii, r, side="right") - 1, 0, len(radii) - 2)
        f = (r - radii[j]) / (radii[j + 1] - radii[j])
        curves = (on_grid[:, j] * (1 - f) + on_grid[:, j + 1] * f).T * common[None, :]
        dets[phys] = (camera.detector.astype(np.int64), curves)
        means[phys] = curves.mean(axis=0)
        bands[phys] = band
    return Throughput(grid, means, dets, bands, str(path))
