"""Read an exposure in the LSST calexp layout (IMAGE/MASK/VARIANCE HDUs) and a reference catalog.

Pixel arrays come back in native byte order (FITS files are big-endian, which ``sep`` refuses);
pixel coordinates are 0-based everywhere (FITS CRPIX is 1-based and only appears in headers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..astro import angular_separation_deg
from ..photometry import NJY_AB_ZP
from .errors import InputError

log = logging.getLogger(__name__)

PLANES = ("IMAGE", "MASK", "VARIANCE")
#: mask bits that make a pixel unusable (excluded from background, variance checks and apertures)
UNUSABLE_PLANES = ("NO_DATA", "BAD")
_UNKNOWN = {"", "_UNKNOWN_", "UNKNOWN", "NONE"}


@dataclasses.dataclass
class Exposure:
    """One exposure: native-endian planes, header facts and the starting WCS.

    Attributes
    ----------
    image, variance : ndarray (ny, nx), float32, counts and counts^2
    mask : ndarray (ny, nx), int64 bit mask; ``planes`` maps plane names (``SAT``, ``BAD`` ...) to bits
    wcs : astropy WCS, the starting (celestial) WCS, 0-based pixel convention when called with origin 0
    pixel_scale_arcsec : float, arcsec per pixel from the starting WCS
    exptime : float or None, seconds; filter_name : str or None; mjd : float or None
    psf_fwhm_arcsec : float or None, from the PSF_FWHM header keyword
    visit, detector : int or None, from the header (VISIT/EXPID, DETECTOR/CCDNUM)
    xy0 : (x0, y0) detector pixel of the array's first pixel (LSST's XY0 = -LTV1, -LTV2 of a cutout);
        array indices are used for measurement and the WCS, detector pixels = array pixels + xy0
    """

    path: Path
    image: np.ndarray
    mask: np.ndarray
    variance: np.ndarray
    planes: dict[str, int]
    header: fits.Header
    wcs: WCS
    pixel_scale_arcsec: float
    exptime: float | None
    filter_name: str | None
    mjd: float | None
    psf_fwhm_arcsec: float | None
    visit: int | None
    detector: int | None
    xy0: tuple[int, int] = (0, 0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape

    def bits(self, *names: str) -> int:
        """OR of the bit values of the named mask planes that exist."""
        value = 0
        for name in names:
            if name in self.planes:
                value |= 1 << self.planes[name]
        return value


def _find_planes(hdul: fits.HDUList, path: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, hdu in enumerate(hdul):
        for key in ("EXTNAME", "EXTTYPE"):
            name = str(hdu.header.get(key, "")).strip().upper()
            if name in PLANES and name not in found:
                found[name] = i
    missing = [p for p in PLANES if p not in found]
    if missing:
        present = [str(h.header.get("EXTNAME", h.header.get("EXTTYPE", f"#{i}"))) for i, h in enumerate(hdul)]
        raise InputError(f"{path}: missing HDU {', '.join(missing)} (HDUs present: {', '.join(present)}); "
                         "an exposure needs IMAGE, MASK and VARIANCE HDUs (EXTNAME or EXTTYPE)")
    return found


def _header_value(headers: list[fits.Header], *keys: str):
    for key in keys:
        for h in headers:
            if key in h and h[key] is not None and str(h[key]).strip() != "":
                return h[key]
    return None


def _starting_wcs(header: fits.Header, path: Path) -> tuple[WCS, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header, relax=True)
        except Exception as exc:  # astropy raises several types for broken WCS keywords
            raise InputError(f"{path}: IMAGE header has no usable starting WCS ({exc})") from None
    if not wcs.has_celestial or wcs.naxis != 2:
        raise InputError(f"{path}: IMAGE header has no usable starting WCS (no celestial CTYPE1/2); "
                         "a starting WCS within max_offset_pix of the truth is required")
    cd = wcs.wcs.cd if wcs.wcs.has_cd() else wcs.wcs.get_pc() * wcs.wcs.cdelt[:, None]
    if not np.all(np.isfinite(cd)) or abs(np.linalg.det(cd)) == 0:
        raise InputError(f"{path}: IMAGE header has no usable starting WCS (singular CD matrix, det = 0)")
    scale = float(np.sqrt(abs(np.linalg.det(cd)))) * 3600.0
    if not 0 < scale <= 60.0 or not np.isfinite(scale):
        raise InputError(f"{path}: implausible pixel scale {scale:.4g} arcsec/pixel from the starting WCS "
                         "(expected 0 < scale <= 60)")
    return wcs.celestial, scale


def read_exposure(path: str | Path, mask_bad_variance: bool = False, warn: list[str] | None = None) -> Exposure:
    """Read and validate an exposure FITS file.

    Parameters
    ----------
    path : the FITS file with IMAGE, MASK and VARIANCE HDUs (found by EXTNAME or EXTTYPE).
    mask_bad_variance : mark unmasked pixels with VARIANCE <= 0 or NaN as BAD instead of failing.
    warn : list receiving warning messages (also logged).

    Raises
    ------
    InputError
        Any problem of the file, its planes, mask definitions or starting WCS (see CALIBRATE_EXPOSURE.md 5.4).
    """
    path = Path(path)
    warn = [] if warn is None else warn
    if not path.is_file():
        raise InputError(f"cannot open {path}: no such file")
    try:
        hdul = fits.open(path, memmap=False)
        hdul.verify("silentfix")
        _ = len(hdul)
    except Exception as exc:
        raise InputError(f"cannot open {path}: not a FITS file ({str(exc).splitlines()[0]})") from None
    with hdul:
        where = _find_planes(hdul, path)
        data = {p: hdul[i].data for p, i in where.items()}
        shapes = {p: (None if d is None else tuple(d.shape)) for p, d in data.items()}
        if len(set(shapes.values())) != 1 or shapes["IMAGE"] is None or len(shapes["IMAGE"]) != 2:
            raise InputError(f"{path}: IMAGE, MASK and VARIANCE must be 2-d and the same shape; got "
                             + ", ".join(f"{p} {shapes[p]}" for p in PLANES))
        image = np.asarray(data["IMAGE"], dtype=np.float32)
        variance = np.asarray(data["VARIANCE"], dtype=np.float32)
        mask = np.asarray(data["MASK"]).astype(np.int64)
        header = hdul[where["IMAGE"]].header.copy()
        headers = [header, hdul[0].header]
        planes = {k[3:]: int(v) for k, v in hdul[where["MASK"]].header.items() if k.startswith("MP_")}
    if not planes and np.any(mask):
        raise InputError(f"{path}: the MASK HDU has no MP_<NAME> bit definitions but non-zero pixels; "
                         "add MP_ keywords (e.g. MP_BAD = 0, MP_SAT = 1, MP_EDGE = 4, MP_NO_DATA = 8)")
    wcs, scale = _starting_wcs(header, path)

    exp = Exposure(path=path, image=image, mask=mask, variance=variance, planes=planes, header=header,
                   wcs=wcs, pixel_scale_arcsec=scale, exptime=None, filter_name=None, mjd=None,
                   psf_fwhm_arcsec=None, visit=None, detector=None)
    if "NO_DATA" not in planes:
        planes["NO_DATA"] = _free_bit(planes)
    unusable = (mask & exp.bits(*UNUSABLE_PLANES)) != 0
    bad_image = ~np.isfinite(image) & ~unusable
    if bad_image.any():
        frac = bad_image.mean()
        if frac > 0.5:
            raise InputError(f"{path}: IMAGE has {int(bad_image.sum())} NaN/inf pixels that are not masked "
                             f"({100 * frac:.0f}% of the image, > 50%)")
        warn.append(f"{int(bad_image.sum())} unmasked NaN/inf IMAGE pixels masked as NO_DATA")
        mask[bad_image] |= exp.bits("NO_DATA")
        unusable |= bad_image
    bad_var = ~(variance > 0) & ~unusable
    if bad_var.any():
        if not mask_bad_variance:
            raise InputError(f"{path}: VARIANCE <= 0 or NaN on {int(bad_var.sum())} unmasked pixels; fix the "
                             "variance plane or pass --mask-bad-variance to mask them as BAD")
        if "BAD" not in planes:
            planes["BAD"] = _free_bit(planes)
        warn.append(f"{int(bad_var.sum())} unmasked pixels with VARIANCE <= 0 or NaN masked as BAD")
        mask[bad_var] |= exp.bits("BAD")

    exptime = _header_value(headers, "EXPTIME", "EXPTIME_S")
    exp.exptime = float(exptime) if exptime is not None and float(exptime) > 0 else None
    filt = _header_value(headers, "FILTER", "BAND", "FILTER1")
    exp.filter_name = None if filt is None or str(filt).strip().upper() in _UNKNOWN else str(filt).strip()
    mjd = _header_value(headers, "MJD-OBS", "MJD-AVG", "MJD")
    exp.mjd = float(mjd) if mjd is not None else None
    fwhm = _header_value(headers, "PSF_FWHM", "SEEING")
    exp.psf_fwhm_arcsec = float(fwhm) if fwhm is not None and float(fwhm) > 0 else None
    visit = _header_value(headers, "VISIT", "EXPID")
    exp.visit = int(visit) if visit is not None else None
    det = _header_value(headers, "DETECTOR", "CCDNUM", "DET-ID")
    exp.detector = int(det) if det is not None else None
    exp.xy0 = (-int(header.get("LTV1", 0)), -int(header.get("LTV2", 0)))
    for w in warn:
        log.warning("%s: %s", path, w)
    return exp


def _free_bit(planes: dict[str, int]) -> int:
    used = set(planes.values())
    return next(b for b in range(31) if b not in used)


@dataclasses.dataclass
class RefCatalog:
    """Reference objects near the exposure, with magnitudes in the requested band.

    ``ra``, ``dec`` degrees (propagated to the exposure epoch when proper motions are given);
    ``mag``, ``mag_err`` AB mag in the calibration band (NaN when absent); ``colors`` maps a band name
    to its AB magnitudes, for colour terms.
    """

    path: Path
    sha256: str
    ref_id: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    mag: np.ndarray
    mag_err: np.ndarray
    mags: dict[str, np.ndarray]
    n_total: int


def _bands_in(columns: list[str]) -> list[str]:
    bands = set()
    for c in columns:
        for suffix in ("_mag", "_flux"):
            if c.endswith(suffix):
                bands.add(c[: -len(suffix)])
    return sorted(bands)


def _band_mag(table, band: str) -> tuple[np.ndarray, np.ndarray] | None:
    cols = table.column_names
    if f"{band}_mag" in cols:
        mag = table[f"{band}_mag"].to_numpy(zero_copy_only=False).astype(np.float64)
        err = (table[f"{band}_magErr"].to_numpy(zero_copy_only=False).astype(np.float64)
               if f"{band}_magErr" in cols else np.full(len(mag), np.nan))
        return mag, err
    if f"{band}_flux" in cols:
        flux = table[f"{band}_flux"].to_numpy(zero_copy_only=False).astype(np.float64)
        ferr = (table[f"{band}_fluxErr"].to_numpy(zero_copy_only=False).astype(np.float64)
                if f"{band}_fluxErr" in cols else np.full(len(flux), np.nan))
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(flux > 0, NJY_AB_ZP - 2.5 * np.log10(flux), np.nan)
            err = np.where(flux > 0, 2.5 / np.log(10) * ferr / flux, np.nan)
        return mag, err
    return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_refcat(path: str | Path, band: str, center_ra: float, center_dec: float, radius_deg: float,
                extra_bands: tuple[str, ...] = (), mjd: float | None = None,
                need_photometry: bool = True) -> RefCatalog:
    """Reference objects within ``radius_deg`` of a centre, with ``band`` magnitudes.

    The file is parquet with ``ra``, ``dec`` (degrees), an optional ``id``/``ref_id``, and per band either
    ``{band}_mag`` [``{band}_magErr``] (AB) or ``{band}_flux`` [``{band}_fluxErr``] (nJy, CONTRACT.md).
    Optional proper motions ``pm_ra`` (mas/yr, times cos dec), ``pm_dec`` (mas/yr) and ``epoch``
    (Julian year) are applied linearly to the exposure epoch ``mjd``.

    Raises
    ------
    InputError
        Unreadable file, missing ra/dec, or no magnitude column for ``band`` (listing the bands present).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot open reference catalog {path}: no such file")
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise InputError(f"cannot read reference catalog {path} as parquet: {str(exc).splitlines()[0]}") from None
    cols = table.column_names
    if "ra" not in cols or "dec" not in cols:
        raise InputError(f"reference catalog {path} needs columns ra, dec (degrees); columns found: "
                         f"{', '.join(cols[:30])}")
    if need_photometry and _band_mag(table, band) is None:
        raise InputError(f"reference catalog {path} has no {band}_mag/{band}_flux column; available bands: "
                         f"{', '.join(_bands_in(cols)) or 'none'}")
    for b in extra_bands:
        if _band_mag(table, b) is None:
            raise InputError(f"reference catalog {path} has no {b}_mag/{b}_flux column needed by the colour "
                             f"term; available bands: {', '.join(_bands_in(cols)) or 'none'}")
    ra = table["ra"].to_numpy(zero_copy_only=False).astype(np.float64)
    dec = table["dec"].to_numpy(zero_copy_only=False).astype(np.float64)
    n_total = len(ra)
    if {"pm_ra", "pm_dec", "epoch"} <= set(cols) and mjd is not None:
        years = (2000.0 + (mjd - 51544.5) / 365.25) - table["epoch"].to_numpy(zero_copy_only=False)
        pm_ra = np.nan_to_num(table["pm_ra"].to_numpy(zero_copy_only=False).astype(np.float64))
        pm_dec = np.nan_to_num(table["pm_dec"].to_numpy(zero_copy_only=False).astype(np.float64))
        dec = dec + pm_dec * years / 3.6e6
        ra = ra + pm_ra * years / 3.6e6 / np.cos(np.radians(dec))
    near = np.isfinite(ra) & np.isfinite(dec)
    near &= angular_separation_deg(ra, dec, center_ra, center_dec) <= radius_deg
    idx = np.flatnonzero(near)
    id_col = "id" if "id" in cols else "ref_id" if "ref_id" in cols else None
    ref_id = (table[id_col].to_numpy(zero_copy_only=False).astype(np.int64)[idx] if id_col
              else idx.astype(np.int64))
    mags = {}
    for b in (band, *extra_bands):
        got = _band_mag(table, b)
        if got is not None:
            mags[b] = got[0][idx]
    got = _band_mag(table, band)
    mag, mag_err = (got[0][idx], got[1][idx]) if got is not None else (np.full(len(idx), np.nan),) * 2
    return RefCatalog(path=path, sha256=file_sha256(path), ref_id=ref_id, ra=ra[idx], dec=dec[idx],
                      mag=mag, mag_err=mag_err, mags=mags, n_total=n_total)
