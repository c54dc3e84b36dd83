"""Configuration of the `stars` stage (the `[stars]` section of a config file).

Example TOML overrides::

    [stars]
    primary_bands = ["i", "r"]
    required_bands = ["g", "r", "i"]
    density_max_per_pixel = 2000

    [stars.color_terms.r]   # HSC-R from PS1 r and i (fgcmcal's ps1 library values)
    primary = "r"
    secondary = "i"
    c0 = -0.000144
    c1 = 0.001369
    c2 = -0.008380
"""

from __future__ import annotations

import dataclasses
import re

from ..errors import FgcmDbError

_MEMORY_RE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


@dataclasses.dataclass
class ColorTerm:
    """Reference magnitude of one band from two reference-catalog bands.

    ``m = m_p + c0 + c1 (m_p - m_s) + c2 (m_p - m_s)^2`` with ``m_p``, ``m_s`` the AB magnitudes of the
    reference catalog's ``primary`` and ``secondary`` bands (fgcmcal's colour-term form).
    """

    #: reference-catalog band of m_p (required)
    primary: str = ""
    #: reference-catalog band of m_s (required)
    secondary: str = ""
    #: mag, constant offset
    c0: float = 0.0
    #: linear colour coefficient (dimensionless)
    c1: float = 0.0
    #: quadratic colour coefficient, 1/mag
    c2: float = 0.0


@dataclasses.dataclass
class StarsConfig:
    """Settings of build-stars; every field documents its unit and default."""

    #: arcsec; observations within this distance are the same star (fgcm matchRadius, 1")
    match_radius_arcsec: float = 1.0
    #: arcsec; a star with another star inside this distance is removed, both of them (fgcm 2")
    isolation_radius_arcsec: float = 2.0
    #: bands whose observations seed stars, in priority order; absent bands are skipped
    primary_bands: list[str] = dataclasses.field(default_factory=lambda: ["i", "r", "g", "z", "y"])
    #: bands in which every star needs >= min_obs_per_band observations; empty: any one band suffices
    required_bands: list[str] = dataclasses.field(default_factory=list)
    #: minimum observations per band: to seed a star (primary band) and in each required band (fgcm 2)
    min_obs_per_band: int = 2
    #: HEALPix nside (power of 2, <= 16384) of the density-cap pixels (fgcm densityCutNside 128)
    density_cut_nside: int = 128
    #: maximum stars kept per density pixel; extra stars dropped at random (fgcm tract mode 10000)
    density_max_per_pixel: int = 10000
    #: seed of the density-cap selection (a stable hash of star_id and this seed)
    density_seed: int = 123456
    #: fraction of stars reserved (held out of the fit) by a stable hash of star_id (fgcm 0.1)
    reserve_fraction: float = 0.1
    #: seed of the reserved-star hash
    reserve_seed: int = 1
    #: arcsec; nearest reference object within this distance is a star's reference match (fgcm 1")
    reference_match_radius_arcsec: float = 1.0
    #: per observed band, how to make its reference magnitude from reference-catalog bands; a band
    #: without an entry uses the reference band of the same name as it is (when present)
    color_terms: dict[str, ColorTerm] = dataclasses.field(default_factory=dict)
    #: DuckDB memory limit while `fgcm-db build-stars` runs (e.g. "3GB"); larger work spills to disk
    memory_limit: str = "3GB"
    #: DuckDB worker threads while `fgcm-db build-stars` runs; 0 keeps DuckDB's default (all cores)
    threads: int = 0

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
        for name in ("match_radius_arcsec", "isolation_radius_arcsec", "reference_match_radius_arcsec"):
            value = getattr(self, name)
            if not 0.0 < value <= 60.0:
                raise FgcmDbError(f"[stars] {name} = {value}: must be in (0, 60] arcsec")
        if self.isolation_radius_arcsec < self.match_radius_arcsec:
            raise FgcmDbError(
                f"[stars] isolation_radius_arcsec = {self.isolation_radius_arcsec} is smaller than "
                f"match_radius_arcsec = {self.match_radius_arcsec}: it must be at least as large"
            )
        if not self.primary_bands:
            raise FgcmDbError("[stars] primary_bands is empty: name at least one band that seeds stars")
        if self.min_obs_per_band < 1:
            raise FgcmDbError(f"[stars] min_obs_per_band = {self.min_obs_per_band}: must be >= 1")
        nside = self.density_cut_nside
        if nside < 1 or nside > 16384 or nside & (nside - 1):
            raise FgcmDbError(f"[stars] density_cut_nside = {nside}: must be a power of 2 from 1 to 16384")
        if self.density_max_per_pixel < 1:
            raise FgcmDbError(f"[stars] density_max_per_pixel = {self.density_max_per_pixel}: must be >= 1")
        if not 0.0 <= self.reserve_fraction < 1.0:
            raise FgcmDbError(f"[stars] reserve_fraction = {self.reserve_fraction}: must be in [0, 1)")
        for band, term in self.color_terms.items():
            if not term.primary or not term.secondary:
                raise FgcmDbError(
                    f"[stars.color_terms.{band}] needs both `primary` and `secondary` reference bands"
                )
        if not _MEMORY_RE.match(self.memory_limit):
            raise FgcmDbError(f"[stars] memory_limit = {self.memory_limit!r}: give a size such as \"3GB\"")
        if self.threads < 0:
            raise FgcmDbError(f"[stars] threads = {self.threads}: must be >= 0 (0: DuckDB default)")
