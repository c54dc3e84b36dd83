"""Camera geometry: detectors on the focal plane, read from YAML or parquet, with an embedded
HSC-like default (104 science detectors of 2048 x 4176 pixels, 15 micron, 0.168 arcsec/pixel).

Positions are in mm on the focal plane; a detector pixel (x, y) (0-based) maps to the focal plane as
``fp = centre + R(rotation) @ ((x - (x_size - 1)/2, y - (y_size - 1)/2) * pixel_size_mm)``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from .errors import FgcmDbError

REQUIRED_KEYS = ("detector", "x_size", "y_size", "fp_x", "fp_y", "pixel_scale", "rotation")

#: HSC-like defaults (Miyazaki et al. 2018, PASJ 70, S1): 2048 x 4176 pixel CCDs of 15 micron at
#: 0.168 arcsec/pixel (11.2 arcsec/mm), science detectors within ~0.75 deg of the boresight.
HSC_PIXEL_SIZE_MM = 0.015
HSC_PIXEL_SCALE = 0.168
HSC_N_DETECTORS = 104


@dataclasses.dataclass
class Camera:
    """Detector geometry as parallel arrays, one entry per detector (sorted by detector id).

    Attributes
    ----------
    detector : int32 ids; x_size, y_size : pixels; fp_x, fp_y : mm (detector centre);
    pixel_scale : arcsec/pixel; rotation : degrees (detector x axis vs focal-plane x axis);
    pixel_size_mm : mm/pixel; is_science : bool.
    """

    detector: np.ndarray
    x_size: np.ndarray
    y_size: np.ndarray
    fp_x: np.ndarray
    fp_y: np.ndarray
    pixel_scale: np.ndarray
    rotation: np.ndarray
    pixel_size_mm: np.ndarray
    is_science: np.ndarray
    name: str = "camera"

    def __post_init__(self) -> None:
        order = np.argsort(self.detector, kind="stable")
        for f in dataclasses.fields(self):
            if f.name != "name":
                setattr(self, f.name, np.asarray(getattr(self, f.name))[order])
        self.detector = self.detector.astype(np.int32)

    def __len__(self) -> int:
        return len(self.detector)

    @property
    def plate_scale_arcsec_per_mm(self) -> float:
        """Median plate scale, arcsec per mm."""
        return float(np.median(self.pixel_scale / self.pixel_size_mm))

    def index_of(self, detector_ids: np.ndarray) -> np.ndarray:
        """Positions in this camera's arrays of the given detector ids (KeyError-free: -1 if unknown)."""
        ids = np.asarray(detector_ids)
        pos = np.searchsorted(self.detector, ids)
        pos = np.clip(pos, 0, len(self.detector) - 1)
        return np.where(self.detector[pos] == ids, pos, -1)

    def radius_mm(self) -> np.ndarray:
        """Distance of each detector centre from the optical axis, mm."""
        return np.hypot(self.fp_x, self.fp_y)

    def pixel_to_focal_plane(self, detector_ids, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Pixel positions (0-based) on detectors to focal-plane mm."""
        i = self.index_of(detector_ids)
        if np.any(i < 0):
            raise FgcmDbError(f"detector(s) {sorted(set(np.asarray(detector_ids)[i < 0].tolist()))[:5]} "
                              f"are not in camera {self.name!r}")
        dx = (np.asarray(x, dtype=np.float64) - (self.x_size[i] - 1) / 2.0) * self.pixel_size_mm[i]
        dy = (np.asarray(y, dtype=np.float64) - (self.y_size[i] - 1) / 2.0) * self.pixel_size_mm[i]
        th = np.radians(self.rotation[i])
        return self.fp_x[i] + dx * np.cos(th) - dy * np.sin(th), self.fp_y[i] + dx * np.sin(th) + dy * np.cos(th)

    def focal_plane_to_pixel(self, detector_ids, fp_x, fp_y) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`pixel_to_focal_plane`."""
        i = self.index_of(detector_ids)
        th = np.radians(self.rotation[i])
        ux = np.asarray(fp_x, dtype=np.float64) - self.fp_x[i]
        uy = np.asarray(fp_y, dtype=np.float64) - self.fp_y[i]
        dx = ux * np.cos(th) + uy * np.sin(th)
        dy = -ux * np.sin(th) + uy * np.cos(th)
        return dx / self.pixel_size_mm[i] + (self.x_size[i] - 1) / 2.0, dy / self.pixel_size_mm[i] + (self.y_size[i] - 1) / 2.0

    def locate(self, fp_x, fp_y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which detector (id, or -1 in a gap) each focal-plane position falls on, and its pixel (x, y).

        Vectorised over positions; loops only over detectors (~100).
        """
        fp_x = np.asarray(fp_x, dtype=np.float64)
        fp_y = np.asarray(fp_y, dtype=np.float64)
        det = np.full(fp_x.shape, -1, dtype=np.int32)
        px = np.full(fp_x.shape, np.nan)
        py = np.full(fp_x.shape, np.nan)
        for k in range(len(self)):
            x, y = self.focal_plane_to_pixel(np.full(fp_x.shape, self.detector[k]), fp_x, fp_y)
            inside = (x >= -0.5) & (x < self.x_size[k] - 0.5) & (y >= -0.5) & (y < self.y_size[k] - 0.5)
            det[inside] = self.detector[k]
            px[inside] = x[inside]
            py[inside] = y[inside]
        return det, px, py

    def to_arrow(self) -> pa.Table:
        """One row per detector with the ``detectors`` table's columns."""
        return pa.table({
            "detector": pa.array(self.detector, pa.int32()),
            "x_size": pa.array(self.x_size.astype(np.int32)),
            "y_size": pa.array(self.y_size.astype(np.int32)),
            "fp_x": pa.array(self.fp_x.astype(np.float64)),
            "fp_y": pa.array(self.fp_y.astype(np.float64)),
            "pixel_scale": pa.array(self.pixel_scale.astype(np.float64)),
            "rotation": pa.array(self.rotation.astype(np.float64)),
            "pixel_size_mm": pa.array(self.pixel_size_mm.astype(np.float64)),
            "is_science": pa.array(self.is_science.astype(bool)),
        })

    def subset(self, keep: np.ndarray) -> Camera:
        """A camera with only the detectors where ``keep`` is true."""
        keep = np.asarray(keep, dtype=bool)
        values = {f.name: getattr(self, f.name)[keep] for f in dataclasses.fields(self) if f.name != "name"}
        return Camera(name=self.name, **values)


def hsc_like_camera(max_radius_mm: float | None = None) -> Camera:
    """The embedded default: 104 HSC-like science detectors (our own regular layout, not HSC's exact one).

    Detectors (30.72 x 62.64 mm) sit on a grid of 32 mm x 67 mm pitch; the 104 whose centres are
    nearest the optical axis are kept, which fills a circle of ~0.75 deg radius. ``max_radius_mm``
    keeps only detectors whose centres lie within that radius (the simulator's small presets).
    """
    cols = np.arange(-7, 8) * 32.0
    rows = (np.arange(-4, 4) + 0.5) * 67.0
    gx, gy = np.meshgrid(cols, rows)
    gx, gy = gx.ravel(), gy.ravel()
    r = np.hypot(gx, gy)
    order = np.lexsort((gx, gy, np.round(r, 6)))[:HSC_N_DETECTORS]
    # number detectors row by row (y, then x) for readability
    order = order[np.lexsort((gx[order], gy[order]))]
    fx, fy = gx[order], gy[order]
    n = len(fx)
    cam = Camera(
        detector=np.arange(n, dtype=np.int32),
        x_size=np.full(n, 2048), y_size=np.full(n, 4176),
        fp_x=fx, fp_y=fy,
        pixel_scale=np.full(n, HSC_PIXEL_SCALE), rotation=np.zeros(n),
        pixel_size_mm=np.full(n, HSC_PIXEL_SIZE_MM), is_science=np.ones(n, dtype=bool),
        name="hsc-like",
    )
    if max_radius_mm is not None:
        cam = cam.subset(cam.radius_mm() <= max_radius_mm)
    return cam


def _from_records(records: list[dict], source: str) -> Camera:
    if not records:
        raise FgcmDbError(f"camera file {source} lists no detectors")
    missing = [k for k in REQUIRED_KEYS if any(k not in r or r[k] is None for r in records)]
    if missing:
        raise FgcmDbError(f"camera file {source}: detectors lack required key(s) {', '.join(missing)}")
    try:
        cols = {k: np.array([r[k] for r in records], dtype=np.float64) for k in REQUIRED_KEYS}
        pixel_size = np.array([r.get("pixel_size_mm", HSC_PIXEL_SIZE_MM) for r in records], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FgcmDbError(f"camera file {source}: a geometry value is not a number ({exc})") from None
    is_science = np.array([bool(r.get("is_science", True)) for r in records])
    ids = cols["detector"]
    if np.any(ids != np.round(ids)):
        raise FgcmDbError(f"camera file {source}: detector ids must be integers")
    uniq, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        raise FgcmDbError(f"camera file {source}: detector {int(uniq[counts > 1][0])} is listed twice")
    bad = ~np.all(np.isfinite(np.column_stack(list(cols.values()))), axis=1)
    if np.any(bad):
        raise FgcmDbError(f"camera file {source}: detector {int(ids[bad][0])} has a non-finite value")
    for k in ("x_size", "y_size", "pixel_scale"):
        if np.any(cols[k] <= 0):
            raise FgcmDbError(f"camera file {source}: {k} must be positive (detector {int(ids[cols[k] <= 0][0])})")
    return Camera(
        detector=ids.astype(np.int32), x_size=cols["x_size"].astype(np.int32), y_size=cols["y_size"].astype(np.int32),
        fp_x=cols["fp_x"], fp_y=cols["fp_y"], pixel_scale=cols["pixel_scale"], rotation=cols["rotation"],
        pixel_size_mm=pixel_size, is_science=is_science, name=Path(source).stem,
    )


def load_camera(path: str | Path | None) -> Camera:
    """Read a camera file (YAML with ``detectors:`` or a bare list; or parquet); None gives the default."""
    if path is None:
        return hsc_like_camera()
    path = Path(path)
    if not path.is_file():
        raise FgcmDbError(f"camera file {path} does not exist")
    if path.suffix.lower() == ".parquet":
        try:
            records = pq.read_table(path).to_pylist()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
            raise FgcmDbError(f"camera file {path} is not a readable parquet file: {exc}") from None
        return _from_records(records, str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FgcmDbError(f"camera file {path} is not valid YAML: {exc}") from None
    if isinstance(data, dict):
        data = data.get("detectors")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise FgcmDbError(f"camera file {path}: expected a mapping with 'detectors:' holding a list of mappings")
    return _from_records(data, str(path))


def write_camera_yaml(camera: Camera, path: str | Path) -> None:
    """Write ``camera`` in the CONTRACT.md YAML format."""
    records = []
    for row in camera.to_arrow().to_pylist():
        records.append({k: (float(v) if isinstance(v, float) else v) for k, v in row.items()})
    Path(path).write_text(yaml.safe_dump({"name": camera.name, "detectors": records}, sort_keys=False))
