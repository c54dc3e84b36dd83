"""Atmospheric transmission on one interface: a built-in physical model and FGCM-format tables.

Both sources factor the transmission as ``T = T_mol(pwv, o3, airmass, pressure) * T_aer(tau, alpha,
airmass)``: molecular scattering and absorption times an Angstrom-law aerosol term normalised at
775 nm (FGCM's lambda_norm = 7750 A). The look-up table relies on this factorisation (the aerosol
term is handled analytically there, see :mod:`fgcm_db.lut_table`).

Units: wavelength nm, PWV mm, ozone Dobson units, pressure hPa, airmass = sec z (the secant of the
zenith distance; each component converts it to its own path length).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .atmosphere_gases import (
    AIR_MOLECULE_KG,
    H2O_PER_MM,
    O2_FRACTION,
    O3_PER_DU,
    WATER_SCALE_HEIGHT_KM,
    band_transmission,
    gas_tables,
)
from .errors import FgcmDbError
from .sites import Site, get_site


#: Aerosol normalisation wavelength, nm (FGCM's LAMBDANORM = 7750 A).
LAMBDA_NORM_NM = 775.0
#: Sea-level standard pressure, hPa.
P0_HPA = 1013.25
#: Earth radius used for the spherical-shell airmasses, km.
EARTH_RADIUS_KM = 6370.0


# ----------------------------------------------------------------------------------------------
# Parameter handling
# ----------------------------------------------------------------------------------------------
def broadcast_parameters(*values) -> tuple[tuple[np.ndarray, ...], bool]:
    """Parameters as float64 column vectors of one shape (N, 1), and whether all were scalars.

    Raises
    ------
    FgcmDbError
        If the arrays do not share one length.
    """
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    scalar = all(a.ndim == 0 for a in arrays)
    try:
        shaped = np.broadcast_arrays(*[np.atleast_1d(a).ravel() for a in arrays])
    except ValueError:
        raise FgcmDbError(
            f"atmosphere parameters must be scalars or arrays of one shape, got shapes "
            f"{[a.shape for a in arrays]}"
        ) from None
    return tuple(a[:, None] for a in shaped), scalar


def _finish(result: np.ndarray, scalar: bool) -> np.ndarray:
    return result[0] if scalar else result


# ----------------------------------------------------------------------------------------------
# Airmasses (path length relative to the zenith) of the components
# ----------------------------------------------------------------------------------------------
def zenith_deg_from_secz(secz) -> np.ndarray:
    """Zenith distance (degrees) from sec z (values below 1 are treated as 1)."""
    return np.degrees(np.arccos(1.0 / np.maximum(np.asarray(secz, dtype=np.float64), 1.0)))


def molecular_airmass(secz) -> np.ndarray:
    """Relative optical airmass of the whole molecular atmosphere.

    Kasten & Young (1989, Applied Optics 28, 4735): ``m = 1 / (cos z + 0.50572 (96.07995 - z)^-1.6364)``
    with z the zenith distance in degrees. It differs from sec z by 0.7 % at z = 70 deg.
    """
    z = zenith_deg_from_secz(secz)
    return 1.0 / (np.cos(np.radians(z)) + 0.50572 * (96.07995 - z) ** -1.6364)


def layer_airmass(secz, layer_height_km: float, site_height_km: float = 0.0) -> np.ndarray:
    """Airmass of a thin absorbing layer at ``layer_height_km`` above sea level (spherical shell).

    ``m = (R + h) / sqrt((R + h)^2 - (R + r)^2 sin^2 z)`` (Komhyr et al. 1989, J. Geophys. Res. 94, 9847,
    for the ozone layer at 22 km), with R the Earth radius and r the observer height.
    """
    z = np.radians(zenith_deg_from_secz(secz))
    rh = EARTH_RADIUS_KM + layer_height_km
    rr = EARTH_RADIUS_KM + site_height_km
    return rh / np.sqrt(rh**2 - (rr * np.sin(z)) ** 2)


def aerosol_transmission(wavelength_nm, tau, alpha, airmass) -> np.ndarray:
    """Angstrom-law aerosol extinction ``exp(-tau * secz * (lambda / 775 nm)^-alpha)``.

    Parameters
    ----------
    wavelength_nm : ndarray (L,), nm
    tau : float or ndarray (N,), aerosol optical depth at 775 nm
    alpha : float or ndarray (N,), Angstrom exponent
    airmass : float or ndarray (N,), sec z (aerosols sit in the lowest ~2 km: plane-parallel path)

    Returns
    -------
    ndarray (N, L), or (L,) when all parameters are scalars.
    """
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    (tau, alpha, secz), scalar = broadcast_parameters(tau, alpha, airmass)
    out = np.exp(-tau * secz * np.exp(-alpha * np.log(lam / LAMBDA_NORM_NM)[None, :]))
    return _finish(out, scalar)


# ----------------------------------------------------------------------------------------------
# The interface
# ----------------------------------------------------------------------------------------------
class Atmosphere:
    """Atmospheric transmission: molecular part (subclass) times the analytic aerosol term.

    Attributes
    ----------
    name : str, where the model comes from (``builtin`` or the table file name).
    site : Site or None.
    """

    name = "atmosphere"
    site: Site | None = None

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Parameter ranges the model is defined on (pwv_mm, o3_du, secz); beyond them it is clipped.
        Empty for a model valid everywhere."""
        return {}

    def molecular_transmission(self, wavelength_nm, pwv_mm, o3_du, airmass, pressure_hpa) -> np.ndarray:
        """Transmission without aerosols; shapes as in :meth:`transmission`."""
        raise NotImplementedError

    def standard_parameters(self) -> dict:
        """The standard atmosphere of this model (keys as :func:`standard_atmosphere_parameters`)."""
        raise NotImplementedError

    def transmission(self, wavelength_nm, pwv_mm, o3_du, tau, alpha, airmass, pressure_hpa) -> np.ndarray:
        """Transmission (0..1) of the atmosphere along the line of sight.

        Parameters
        ----------
        wavelength_nm : ndarray (L,), nm
        pwv_mm : precipitable water vapour at the zenith, mm
        o3_du : ozone column, Dobson units
        tau : aerosol optical depth at 775 nm
        alpha : aerosol Angstrom exponent
        airmass : sec z
        pressure_hpa : surface pressure at the telescope, hPa

        The parameters are scalars or arrays of one shape (N,).

        Returns
        -------
        ndarray (N, L), or (L,) when all parameters are scalars.
        """
        (pwv, o3, tau_, alpha_, secz, p), scalar = broadcast_parameters(
            pwv_mm, o3_du, tau, alpha, airmass, pressure_hpa
        )
        mol = self.molecular_transmission(wavelength_nm, pwv[:, 0], o3[:, 0], secz[:, 0], p[:, 0])
        aer = aerosol_transmission(wavelength_nm, tau_[:, 0], alpha_[:, 0], secz[:, 0])
        return _finish(mol * aer, scalar)


def standard_atmosphere_parameters(site: Site | str | None) -> dict:
    """Standard atmosphere of a site: keys pwv_mm, o3_du, tau, alpha, airmass, pressure_hpa.

    Subaru (Mauna Kea, 4139 m): PWV 1.5 mm (the median summit PWV is 1.5-2 mm, e.g. Otarola et al.
    2010, PASP 122, 470; FGCM's subaru3 table uses 1.5 mm), O3 263 DU (FGCM default; the zonal mean
    column at 20 N is 250-280 DU), tau 0.03 and alpha 1.0 (clear-sky Mauna Kea aerosol depth at 775 nm
    is 0.01-0.03), airmass 1.1 (FGCM subaru3), pressure = the site's mean summit pressure (616 hPa,
    ``sites.py``; FGCM's 828 mb is a convention of its gray pressure factor, not a pressure).
    Blanco and Rubin (Cerro Tololo / Pachon): FGCM's DES/LSST standard, PWV 3 mm, O3 263 DU,
    tau 0.03, alpha 1, airmass 1.2, pressure from the site preset.
    """
    if site is None:
        site = get_site("subaru")
    elif isinstance(site, str):
        site = get_site(site)
    if site.name == "subaru":
        pwv, airmass = 1.5, 1.1
    else:
        pwv, airmass = 3.0, 1.2
    return {"pwv_mm": pwv, "o3_du": 263.0, "tau": 0.03, "alpha": 1.0, "airmass": airmass,
            "pressure_hpa": float(site.pressure_std_hpa)}


# ----------------------------------------------------------------------------------------------
# Built-in physical model
# ----------------------------------------------------------------------------------------------
def rayleigh_optical_depth(wavelength_nm, pressure_hpa=P0_HPA, latitude_deg: float = 45.0,
                           elevation_m: float = 0.0) -> np.ndarray:
    """Rayleigh (molecular scattering) optical depth at the zenith.

    Bodhaine et al. (1999, J. Atmos. Oceanic Technol. 16, 1854), eq. 30 for 1013.25 hPa, 45 deg
    latitude, sea level and 360 ppm CO2, scaled to the column mass ``P / g``: pressure by
    ``P / 1013.25`` and gravity with their eqs. 10-11 (g at the mass-weighted column height
    ``z_c = 0.73737 z + 5517.56`` m).

    Parameters
    ----------
    wavelength_nm : ndarray, nm
    pressure_hpa : float or ndarray broadcastable against wavelength, hPa
    latitude_deg, elevation_m : site position (gravity correction).
    """
    lam = np.asarray(wavelength_nm, dtype=np.float64) / 1000.0
    l2 = lam**2
    tau_std = 0.0021520 * (1.0455996 - 341.29061 / l2 - 0.90230850 * l2) / (1.0 + 0.0027059889 / l2 - 85.968563 * l2)
    return tau_std * (np.asarray(pressure_hpa, dtype=np.float64) / P0_HPA) * (
        _gravity(45.0, 0.0) / _gravity(latitude_deg, elevation_m)
    )


def _gravity(latitude_deg: float, elevation_m: float) -> float:
    """Gravity (cm/s^2) at the mass-weighted column height above a site (Bodhaine et al. 1999)."""
    c2 = np.cos(np.radians(2.0 * latitude_deg))
    g0 = 980.6160 * (1.0 - 0.0026373 * c2 + 0.0000059 * c2**2)
    zc = 0.73737 * elevation_m + 5517.56
    return g0 - (3.085462e-4 + 2.27e-7 * c2) * zc + (7.254e-11 + 1.0e-13 * c2) * zc**2 - (
        1.517e-17 + 6e-20 * c2) * zc**3


#: Height of the ozone layer, km (Komhyr et al. 1989).
OZONE_LAYER_KM = 22.0


class BuiltinAtmosphere(Atmosphere):
    """The physical model used when no atmosphere table is given (works offline).

    Components, each along its own path (airmass):

    - Rayleigh scattering: :func:`rayleigh_optical_depth` (Bodhaine et al. 1999) at the actual
      pressure, along the Kasten & Young (1989) molecular airmass;
    - O2: tabulated line cross sections (:mod:`fgcm_db.atmosphere_gases`, from the ``pwv_kpno``
      package) times the O2 column ``0.20946 P / (m_air g)``, so the O2 bands scale with pressure,
      along the molecular airmass;
    - water vapour: the same for H2O, column = PWV, along the airmass of a layer at the site plus the
      water scale height (2 km);
    - ozone: cross section x column (2.6867e16 molecules/cm^2 per DU) along the 22 km layer airmass;
    - aerosols: :func:`aerosol_transmission`.

    Parameters
    ----------
    site : Site or None
        Observatory (default Subaru): its elevation selects the cross-section layers and the gravity,
        and it sets the standard atmosphere.
    """

    name = "builtin"

    def __init__(self, site: Site | None = None):
        self.site = site if site is not None else get_site("subaru")
        self._site_km = self.site.elevation_m / 1000.0
        self._gravity_ms2 = _gravity(self.site.latitude_deg, self.site.elevation_m) / 100.0

    def standard_parameters(self) -> dict:
        return standard_atmosphere_parameters(self.site)

    def o2_column(self, pressure_hpa) -> np.ndarray:
        """Vertical O2 column above the site, molecules/cm^2, for a surface pressure in hPa."""
        return O2_FRACTION * np.asarray(pressure_hpa) * 100.0 / (AIR_MOLECULE_KG * self._gravity_ms2) / 1e4

    def components(self, wavelength_nm, pwv_mm, o3_du, airmass, pressure_hpa) -> dict[str, np.ndarray]:
        """Transmission of each molecular component (rayleigh, o2, o3, h2o), each (N, L)."""
        lam = np.ascontiguousarray(wavelength_nm, dtype=np.float64)
        tables = gas_tables(self._site_km, lam.tobytes())
        tau_r = rayleigh_optical_depth(lam, P0_HPA, self.site.latitude_deg, self.site.elevation_m)
        (pwv, o3, secz, p), _ = broadcast_parameters(pwv_mm, o3_du, airmass, pressure_hpa)
        m_mol = molecular_airmass(secz)
        m_o3 = layer_airmass(secz, OZONE_LAYER_KM, self._site_km)
        m_w = layer_airmass(secz, self._site_km + WATER_SCALE_HEIGHT_KM, self._site_km)
        w = tables["weights"]
        return {
            "rayleigh": np.exp(-tau_r[None, :] * m_mol * p / P0_HPA),
            "o2": band_transmission(tables["k_o2"], w, tables["o2_bins"], (self.o2_column(p) * m_mol)[:, 0],
                                    len(lam)),
            "o3": np.exp(-tables["sigma_o3"][None, :] * (o3 * O3_PER_DU) * m_o3),
            "h2o": band_transmission(tables["k_h2o"], w, tables["h2o_bins"], (pwv * H2O_PER_MM * m_w)[:, 0],
                                     len(lam)),
        }

    def molecular_transmission(self, wavelength_nm, pwv_mm, o3_du, airmass, pressure_hpa) -> np.ndarray:
        _, scalar = broadcast_parameters(pwv_mm, o3_du, airmass, pressure_hpa)
        c = self.components(wavelength_nm, pwv_mm, o3_du, airmass, pressure_hpa)
        return _finish(c["rayleigh"] * c["o2"] * c["o3"] * c["h2o"], scalar)


# ----------------------------------------------------------------------------------------------
# FGCM-format MODTRAN tables
# ----------------------------------------------------------------------------------------------
_TABLE_EXTENSIONS = ("PARS", "PWVATM", "O3ATM", "O2ATM", "RAYATM")


class FgcmAtmosphereTable(Atmosphere):
    """An FGCM-format atmosphere table (FITS: PARS, PWVATM, O3ATM, O2ATM, RAYATM).

    Components are interpolated multilinearly on their node grids (sec z; ln PWV or PWV; O3),
    with the parameters clipped to the regular nodes: the extra "+1" node FGCM generates beyond each
    axis is not used (it is unreliable, e.g. the shipped Subaru test tables cap it at ~the last node).

    Differences from FGCM, on purpose (FGCM_ALGORITHM.md sec. 2.2, 15):

    - pressure: FGCM multiplies the whole transmission by the gray factor
      ``exp(-1.6 (P - P_elev) / P_elev)``. Here pressure scales the optical depth of the components
      that are proportional to the air column, ``Ray^(P / P_elev) * O2^(P / P_elev)``, which makes
      the pressure term chromatic and about ten times weaker, as real Rayleigh scattering is.
    - aerosols use sec z everywhere (FGCM mixes a Hardie airmass in the LUT and sec z elsewhere).

    Parameters
    ----------
    path : str or Path
    site : Site or None; None = the preset whose elevation is within 150 m of the table's ELEVATION.
    """

    def __init__(self, path: str | Path, site: Site | None = None):
        from astropy.io import fits

        path = Path(path)
        self.path = path
        self.name = path.name
        self.site = site
        if not path.is_file():
            raise FgcmDbError(f"atmosphere table {path} does not exist")
        try:
            with fits.open(path, memmap=False) as hdul:
                names = {h.name.upper() for h in hdul}
                missing = [e for e in _TABLE_EXTENSIONS if e not in names]
                if missing:
                    raise FgcmDbError(
                        f"atmosphere table {path} lacks extension(s) {', '.join(missing)}: an FGCM atmosphere "
                        f"table needs {', '.join(_TABLE_EXTENSIONS)}"
                    )
                pars = hdul["PARS"].data
                cols = {c.upper(): np.asarray(pars[c][0], dtype=np.float64) for c in pars.columns.names}
                pwv_atm = np.asarray(hdul["PWVATM"].data, dtype=np.float64)
                o3_atm = np.asarray(hdul["O3ATM"].data, dtype=np.float64)
                o2_atm = np.asarray(hdul["O2ATM"].data, dtype=np.float64)
                ray_atm = np.asarray(hdul["RAYATM"].data, dtype=np.float64)
        except FgcmDbError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FgcmDbError(f"atmosphere table {path} is not a readable FGCM FITS table: {exc}") from None

        def need(key: str) -> np.ndarray:
            if key not in cols:
                raise FgcmDbError(f"atmosphere table {path}: PARS lacks column {key}")
            return cols[key]

        self.wavelength_nm = need("ATMLAMBDA") / 10.0
        self.std_transmission = need("ATMSTDTRANS")
        self.elevation_m = float(need("ELEVATION"))
        self.pressure_ref_hpa = float(need("PMBELEVATION"))
        if "LNPWV" in cols:
            self.pwv_log = True
            self.pwv_nodes = cols["LNPWV"]
        else:
            self.pwv_log = False
            self.pwv_nodes = need("PWV")
        self.o3_nodes = need("O3")
        self.secz_nodes = need("SECZENITH")
        self.pars = {k: float(v) for k, v in cols.items() if np.size(v) == 1}
        if self.site is None:
            from .sites import SITES

            near = [s for s in SITES.values() if abs(s.elevation_m - self.elevation_m) < 150.0]
            self.site = near[0] if len(near) == 1 else None
        nl, nz, npwv, no3 = len(self.wavelength_nm), len(self.secz_nodes), len(self.pwv_nodes), len(self.o3_nodes)
        expect = {"PWVATM": ((npwv + 1, nz + 1, nl), pwv_atm), "O3ATM": ((no3 + 1, nz + 1, nl), o3_atm),
                  "O2ATM": ((nz + 1, nl), o2_atm), "RAYATM": ((nz + 1, nl), ray_atm)}
        for ext, (shape, arr) in expect.items():
            if arr.shape != shape:
                raise FgcmDbError(
                    f"atmosphere table {path}: extension {ext} has shape {arr.shape}, expected {shape} "
                    "from the PARS axes"
                )
        if np.any(np.diff(self.wavelength_nm) <= 0):
            raise FgcmDbError(f"atmosphere table {path}: ATMLAMBDA is not increasing")
        # regular nodes only
        self._pwv = pwv_atm[:npwv, :nz]
        self._o3 = o3_atm[:no3, :nz]
        self._o2 = o2_atm[:nz]
        self._ray = ray_atm[:nz]

    def ranges(self) -> dict[str, tuple[float, float]]:
        pwv = np.exp(self.pwv_nodes) if self.pwv_log else self.pwv_nodes
        return {"pwv_mm": (float(pwv[0]), float(pwv[-1])), "o3_du": (float(self.o3_nodes[0]), float(self.o3_nodes[-1])),
                "secz": (float(self.secz_nodes[0]), float(self.secz_nodes[-1]))}

    def standard_parameters(self) -> dict:
        """PARS standard values; pressure = PMBELEVATION, the pressure the components hold at."""
        p = self.pars
        return {"pwv_mm": p.get("PWVSTD", 1.5), "o3_du": p.get("O3STD", 263.0), "tau": p.get("TAUSTD", 0.03),
                "alpha": p.get("ALPHASTD", 1.0), "airmass": p.get("AIRMASSSTD", 1.2),
                "pressure_hpa": self.pressure_ref_hpa}

    @functools.lru_cache(maxsize=8)  # noqa: B019
    def _components_on(self, key: bytes) -> tuple[np.ndarray, ...]:
        lam = np.frombuffer(key, dtype=np.float64)

        def resample(a: np.ndarray) -> np.ndarray:
            flat = a.reshape(-1, a.shape[-1])
            out = np.empty((flat.shape[0], len(lam)))
            for i, row in enumerate(flat):
                out[i] = np.interp(lam, self.wavelength_nm, row)
            return out.reshape(a.shape[:-1] + (len(lam),))

        return resample(self._pwv), resample(self._o3), resample(self._o2), resample(self._ray)

    @staticmethod
    def _locate(nodes: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower node index and fractional position, x clipped to the regular nodes."""
        if len(nodes) == 1:
            return np.zeros(x.shape, dtype=np.intp), np.zeros(x.shape)
        xc = np.clip(x, nodes[0], nodes[-1])
        k = np.clip(np.searchsorted(nodes, xc, side="right") - 1, 0, len(nodes) - 2)
        return k, (xc - nodes[k]) / (nodes[k + 1] - nodes[k])

    def molecular_transmission(self, wavelength_nm, pwv_mm, o3_du, airmass, pressure_hpa) -> np.ndarray:
        lam = np.ascontiguousarray(wavelength_nm, dtype=np.float64)
        pwv_c, o3_c, o2_c, ray_c = self._components_on(lam.tobytes())
        (pwv, o3, secz, p), scalar = broadcast_parameters(pwv_mm, o3_du, airmass, pressure_hpa)
        pwv, o3, secz, p = pwv[:, 0], o3[:, 0], secz[:, 0], p[:, 0]
        kz, fz = self._locate(self.secz_nodes, secz)
        x_pwv = np.log(np.maximum(pwv, 1e-6)) if self.pwv_log else pwv
        kw, fw = self._locate(self.pwv_nodes, x_pwv)
        ko, fo = self._locate(self.o3_nodes, o3)
        gz, gw, go = fz[:, None], fw[:, None], fo[:, None]

        def lin1(c):
            return c[kz] * (1 - gz) + c[np.minimum(kz + 1, len(c) - 1)] * gz

        def lin2(c, k, g):
            k1 = np.minimum(k + 1, c.shape[0] - 1)
            z1 = np.minimum(kz + 1, c.shape[1] - 1)
            return ((c[k, kz] * (1 - gz) + c[k, z1] * gz) * (1 - g)
                    + (c[k1, kz] * (1 - gz) + c[k1, z1] * gz) * g)

        scale = (p / self.pressure_ref_hpa)[:, None]
        ray = np.maximum(lin1(ray_c), 1e-300) ** scale
        o2 = np.maximum(lin1(o2_c), 1e-300) ** scale
        out = ray * o2 * lin2(pwv_c, kw, gw) * lin2(o3_c, ko, go)
        return _finish(np.clip(out, 0.0, 1.0), scalar)


def load_atmosphere(path: str | Path | None, site: Site | None = None) -> Atmosphere:
    """The FGCM table at ``path``, or the built-in model when ``path`` is None."""
    if path is None:
        return BuiltinAtmosphere(site)
    return FgcmAtmosphereTable(path, site)
