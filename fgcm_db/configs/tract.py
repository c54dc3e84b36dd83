"""Configuration of the `tract` stage (the `[tract]` section of a config file).

``fgcm-db calibrate-tract`` reads this section: the cycle limit, the convergence tolerance, the sky
regions that ``--tract N`` selects, and how the output products are made. A tract is declared as a
table under ``[tract.regions]``, keyed by its number, either as a circle or as an RA/Dec box::

    [tract.regions.9813]
    ra = 150.0          # centre, degrees
    dec = 2.2
    radius_deg = 0.5

    [tract.regions.9814]
    ra_min = 149.5      # box, degrees (ra_min > ra_max wraps through RA = 0)
    ra_max = 150.5
    dec_min = 1.7
    dec_max = 2.7
"""

from __future__ import annotations

import dataclasses

from ..errors import FgcmDbError


@dataclasses.dataclass
class TractRegion:
    """A named sky region: a circle (``ra``, ``dec``, ``radius_deg``) or a box (``ra_min`` ... ``dec_max``).

    All values in degrees (ICRS).
    """

    #: circle centre right ascension, degrees
    ra: float | None = None
    #: circle centre declination, degrees
    dec: float | None = None
    #: circle radius, degrees
    radius_deg: float | None = None
    #: box: lowest right ascension, degrees (greater than ra_max when the box straddles RA = 0)
    ra_min: float | None = None
    #: box: highest right ascension, degrees
    ra_max: float | None = None
    #: box: lowest declination, degrees
    dec_min: float | None = None
    #: box: highest declination, degrees
    dec_max: float | None = None

    @property
    def is_circle(self) -> bool:
        return self.radius_deg is not None

    def describe(self) -> str:
        """One-line description for progress messages."""
        if self.is_circle:
            return f"circle of radius {self.radius_deg:g} deg at RA {self.ra:g}, Dec {self.dec:g}"
        return f"box RA {self.ra_min:g}..{self.ra_max:g}, Dec {self.dec_min:g}..{self.dec_max:g} deg"

    def validate(self, name: str) -> None:
        """Raise FgcmDbError naming ``[tract.regions.<name>]`` when the region is not exactly one shape."""
        where = f"[tract.regions.{name}]"
        circle = (self.ra, self.dec, self.radius_deg)
        box = (self.ra_min, self.ra_max, self.dec_min, self.dec_max)
        has_circle = any(v is not None for v in circle)
        has_box = any(v is not None for v in box)
        if has_circle == has_box:
            raise FgcmDbError(f"{where}: give either ra, dec, radius_deg (a circle) or ra_min, ra_max, dec_min, "
                              "dec_max (a box)")
        if has_circle:
            if any(v is None for v in circle):
                raise FgcmDbError(f"{where}: a circle needs all of ra, dec and radius_deg")
            if not 0 < self.radius_deg <= 180:
                raise FgcmDbError(f"{where}: radius_deg = {self.radius_deg} must be in (0, 180]")
            if not -90 <= self.dec <= 90:
                raise FgcmDbError(f"{where}: dec = {self.dec} must be in [-90, 90]")
        else:
            if any(v is None for v in box):
                raise FgcmDbError(f"{where}: a box needs all of ra_min, ra_max, dec_min and dec_max")
            if not -90 <= self.dec_min < self.dec_max <= 90:
                raise FgcmDbError(f"{where}: need -90 <= dec_min < dec_max <= 90, got {self.dec_min}, {self.dec_max}")
            if not (0 <= self.ra_min <= 360 and 0 <= self.ra_max <= 360) or self.ra_min == self.ra_max:
                raise FgcmDbError(f"{where}: ra_min, ra_max must differ and lie in [0, 360]")


@dataclasses.dataclass
class TractConfig:
    """Settings of ``calibrate-tract``; every field documents its unit and default."""

    #: fit cycles before the final (no-fit) cycle at most; ``--max-cycles`` overrides it.
    max_cycles: int = 5
    #: named sky regions selectable with ``--tract N`` (key = the tract number as a string).
    regions: dict[str, TractRegion] = dataclasses.field(default_factory=dict)
    #: tie the absolute level of each band to the reference catalog when stars have reference
    #: magnitudes (``star_ref``); false, or too few matches: the model throughput sets it.
    reference_calibration: bool = True
    #: fewest standard stars with a reference magnitude for a reference offset in a band.
    reference_min_stars: int = 20
    #: largest standard-star and reference magnitude error used for the offset, mag.
    reference_max_mag_err: float = 0.02
    #: reference offset: iterative clip of (ref - std) at this many 1.4826 MAD about the median.
    reference_clip_nsig: float = 4.0
    #: zero-points whose gray term is below -thick_cloud_mag get flag bit 16 (THICK_CLOUD), mag.
    thick_cloud_mag: float = 1.0
    #: transmission curves: wavelength range of the 1 nm grid, nm.
    transmission_min_nm: float = 300.0
    transmission_max_nm: float = 1100.0
    #: atmosphere table (FGCM FITS) the look-up table was made from, for the transmission curves;
    #: "" = the built-in model (what the default look-up table uses).
    atmosphere: str = ""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
        def need(ok: bool, field: str, what: str) -> None:
            if not ok:
                raise FgcmDbError(f"[tract] {field} = {getattr(self, field)!r}: {what}")

        need(self.max_cycles >= 1, "max_cycles", "must be >= 1")
        need(self.reference_min_stars >= 1, "reference_min_stars", "must be >= 1")
        need(self.reference_max_mag_err > 0, "reference_max_mag_err", "must be > 0")
        need(self.reference_clip_nsig > 0, "reference_clip_nsig", "must be > 0")
        need(self.thick_cloud_mag > 0, "thick_cloud_mag", "must be > 0")
        need(0 < self.transmission_min_nm < self.transmission_max_nm, "transmission_max_nm",
             "need 0 < transmission_min_nm < transmission_max_nm")
        for name, region in self.regions.items():
            try:
                int(name)
            except ValueError:
                raise FgcmDbError(f"[tract.regions.{name}]: tract names are integers (--tract N)") from None
            region.validate(name)
