"""Configuration of the `lut` stage (the `[lut]` section of a config file).

Ranges follow FGCM (FGCM_ALGORITHM.md sec. 2.1, FGCMCAL_PIPELINE.md sec. 4.3). The tables are a
grid uniform in ln PWV and in sec z (interpolated); ozone and pressure enter as first-order
expansions about the range middle / the standard pressure, and aerosols (tau, alpha) analytically.
Empty / zero values mean "the site's default" (:data:`SITE_GRIDS`). The PWV grid is denser than
FGCM's (25 instead of 15 nodes for Subaru) so that interpolation stays below 0.1 mmag.
"""

from __future__ import annotations

import dataclasses

from ..errors import FgcmDbError

#: FGCM's per-site grids: (pwv min, max mm, steps), (zenith max deg, steps). Subaru = FGCM subaru3.
SITE_GRIDS = {
    "subaru": {"pwv_range_mm": (0.1, 3.6), "pwv_steps": 25, "zenith_max_deg": 75.0, "zenith_steps": 23},
    "blanco": {"pwv_range_mm": (0.1, 12.0), "pwv_steps": 31, "zenith_max_deg": 70.0, "zenith_steps": 21},
    "rubin": {"pwv_range_mm": (0.1, 12.0), "pwv_steps": 31, "zenith_max_deg": 70.0, "zenith_steps": 21},
}


@dataclasses.dataclass
class LutConfig:
    """Settings of the lut stage; every field documents its unit and default."""

    #: Observatory preset (subaru, blanco, rubin); "" = the site recorded by ingest, else subaru.
    site: str = ""
    #: Physical filters to tabulate; empty = every filter of the throughput.
    physical_filters: list[str] = dataclasses.field(default_factory=list)
    #: Standard filter of each physical filter (e.g. {"HSC-I2" = "HSC-I"}); unlisted = itself.
    std_physical_filter_map: dict[str, str] = dataclasses.field(default_factory=dict)
    #: PWV range of the grid, mm ([] = site default; Subaru 0.1-3.6).
    pwv_range_mm: list[float] = dataclasses.field(default_factory=list)
    #: Number of ln PWV nodes (0 = site default; Subaru 25).
    pwv_steps: int = 0
    #: Ozone range, Dobson units. Ozone is optically thin: each node stores the moments at the middle of
    #: the range and their secant slope across it (no ozone grid axis).
    o3_range_du: list[float] = dataclasses.field(default_factory=lambda: [220.0, 310.0])
    #: Aerosol optical depth at 775 nm: range (bounds for the fit; the aerosol term is exact for any tau).
    tau_range: list[float] = dataclasses.field(default_factory=lambda: [0.002, 0.35])
    #: Angstrom exponent range (bounds for the fit; the aerosol term is exact for any alpha).
    alpha_range: list[float] = dataclasses.field(default_factory=lambda: [0.0, 2.0])
    #: Largest zenith distance of the grid, degrees (0 = site default; Subaru 75).
    zenith_max_deg: float = 0.0
    #: Number of sec z nodes (0 = site default; Subaru 23).
    zenith_steps: int = 0
    #: Wavelength nodes (Chebyshev) per filter for the analytic aerosol term.
    aerosol_nodes: int = 5
    #: Standard atmosphere overrides (keys pwv_mm, o3_du, tau, alpha, airmass, pressure_hpa);
    #: missing keys take the site's (or the atmosphere table's) standard values.
    standard: dict[str, float] = dataclasses.field(default_factory=dict)

    def resolved(self, site: str) -> dict:
        """Grid settings with the site defaults filled in."""
        base = SITE_GRIDS.get(site, SITE_GRIDS["subaru"])
        return {
            "pwv_range_mm": tuple(self.pwv_range_mm) if self.pwv_range_mm else base["pwv_range_mm"],
            "pwv_steps": self.pwv_steps or base["pwv_steps"],
            "zenith_max_deg": self.zenith_max_deg or base["zenith_max_deg"],
            "zenith_steps": self.zenith_steps or base["zenith_steps"],
        }

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
        for name, low in (("pwv_range_mm", 0.0), ("o3_range_du", 0.0), ("tau_range", 0.0), ("alpha_range", None)):
            rng = getattr(self, name)
            if rng and (len(rng) != 2 or not rng[0] < rng[1] or (low is not None and rng[0] <= low)):
                raise FgcmDbError(f"[lut] {name} must be [min, max] with {'0 < ' if low is not None else ''}min < max, "
                                  f"got {rng}")
        for name in ("pwv_steps", "zenith_steps"):
            if getattr(self, name) == 1 or getattr(self, name) < 0:
                raise FgcmDbError(f"[lut] {name} must be 0 (site default) or >= 2")
        if not 0.0 <= self.zenith_max_deg < 85.0:
            raise FgcmDbError("[lut] zenith_max_deg must be in [0, 85) degrees (0 = site default)")
        if not 3 <= self.aerosol_nodes <= 24:
            raise FgcmDbError("[lut] aerosol_nodes must be between 3 and 24")
        known = {"pwv_mm", "o3_du", "tau", "alpha", "airmass", "pressure_hpa"}
        bad = sorted(set(self.standard) - known)
        if bad:
            raise FgcmDbError(f"[lut] standard has unknown key(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
        if self.site and self.site.lower() not in SITE_GRIDS:
            raise FgcmDbError(f"[lut] site {self.site!r} is unknown; known: {', '.join(SITE_GRIDS)}")
