"""The one column-mapping layer: canonical CONTRACT.md names <- the names real LSST files use.

Every input column name is first *normalised*: lower-cased, an afw ``base_``/``slot_`` prefix dropped,
and afw plugin names rewritten to their ``sourceTable_visit`` form (pipe_tasks' ``Source.yaml``
functors): ``CircularApertureFlux_R_r`` -> ``apFlux_R_r``, ``PixelFlags_flag_X`` -> ``pixelFlags_X``,
``SdssCentroid`` -> ``centroid``, ``ClassificationExtendedness_value`` -> ``extendedness``,
``PsfFlux_instFlux`` -> ``psfFlux``. A canonical column then matches the first of its own name and its
aliases (also normalised) present in the file. This covers the current names, case differences, the
2020-era capitalised names (``ApFlux_12_0_instFlux``, ``PixelFlags_edge``, ``Deblend_nChild``,
``LocalBackground_instFlux``, ``PsFlux``), ``filter`` for ``physical_filter``, ``decl`` for ``dec``,
``visitId`` for ``visit``, ``parent`` for ``parentSourceId`` and afw's ``id``.
"""

from __future__ import annotations

import dataclasses
import re

#: Column kinds and the Arrow / numpy types each accepts.
KINDS = ("int", "float", "bool", "str")

_REWRITES = (
    (re.compile(r"^(base_|slot_)"), ""),
    (re.compile(r"^circularapertureflux_"), "apflux_"),
    (re.compile(r"^pixelflags_flag_"), "pixelflags_"),
    (re.compile(r"^sdsscentroid_"), "centroid_"),
    (re.compile(r"^classificationextendedness_value$"), "extendedness"),
    (re.compile(r"^psfflux_instflux"), "psfflux"),
    (re.compile(r"^psflux"), "psfflux"),
    (re.compile(r"^sdssshape_"), "shape_"),
)


def normalise(name: str) -> str:
    """The comparison key of a column name (see the module docstring)."""
    key = name.lower()
    for pattern, replacement in _REWRITES:
        key = pattern.sub(replacement, key)
    return key


@dataclasses.dataclass(frozen=True)
class Column:
    """A canonical column: its name, kind, whether a file must have it, and accepted aliases."""

    name: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalise(n) for n in (self.name, *self.aliases)))


def _flags(*names: str, required: bool) -> list[Column]:
    return [Column(n, "bool", required) for n in names]


#: Source-table columns (CONTRACT.md "Source tables"), in the order of the ``sources`` table.
SOURCE_COLUMNS: tuple[Column, ...] = (
    Column("sourceId", "int", True, ("id",)),
    Column("visit", "int", True, ("visitId",)),
    Column("detector", "int", True, ("ccd",)),
    Column("band", "str"),
    Column("physical_filter", "str", False, ("filter",)),
    Column("coord_ra", "float", True, ("ra",)),
    Column("coord_dec", "float", True, ("dec", "decl")),
    Column("x", "float", True, ("centroid_x",)),
    Column("y", "float", True, ("centroid_y",)),
    Column("apFlux_12_0_instFlux", "float", True),
    Column("apFlux_12_0_instFluxErr", "float", True),
    Column("apFlux_12_0_flag", "bool", True),
    Column("apFlux_17_0_instFlux", "float", True),
    Column("apFlux_17_0_instFluxErr", "float", True),
    Column("apFlux_17_0_flag", "bool"),
    Column("localBackground_instFlux", "float", True),
    Column("localBackground_flag", "bool"),
    Column("extendedness", "float", True),
    *_flags("pixelFlags_saturatedCenter", "pixelFlags_interpolatedCenter", "pixelFlags_edge", "pixelFlags_cr",
            "pixelFlags_bad", required=True),
    *_flags("pixelFlags_crCenter", "pixelFlags_interpolated", "pixelFlags_saturated", "centroid_flag",
            "detect_isPrimary", required=False),
    Column("sky_source", "bool", True),
    Column("deblend_nChild", "int", True),
    Column("parentSourceId", "int", False, ("parent",)),
    Column("calib_psf_candidate", "bool"),
    Column("psfFlux", "float"),
    Column("psfFluxErr", "float"),
    Column("psfFlux_flag", "bool"),
    Column("ixx", "float", False, ("shape_xx",)),
    Column("iyy", "float", False, ("shape_yy",)),
    Column("ixy", "float", False, ("shape_xy",)),
)

#: Visit-summary columns (CONTRACT.md "Visit summary"). ``ra``/``decl`` of a per-detector summary are the
#: detector centre: accepted for the boresight only when no boresight column exists.
VISIT_COLUMNS: tuple[Column, ...] = (
    Column("visit", "int", True, ("visitId",)),
    Column("detector", "int", True, ("ccd",)),
    Column("band", "str"),
    Column("physical_filter", "str", False, ("filter",)),
    Column("expMidptMJD", "float", True, ("mjd", "expMidpt_mjd")),
    Column("expTime", "float", True, ("exptime", "exposureTime")),
    Column("zenithDistance", "float"),
    Column("boresightRa", "float", True, ("ra",)),
    Column("boresightDec", "float", True, ("dec", "decl")),
    Column("boresightRotAngle", "float", False, ("skyRotation", "rotAngle")),
    Column("pressure", "float"),
    Column("psfSigma", "float"),
    Column("skyBg", "float"),
)


@dataclasses.dataclass
class Mapping:
    """How one file's columns map to the canonical ones.

    Attributes
    ----------
    found : canonical name -> the file's column name.
    missing : required canonical names the file lacks.
    """

    found: dict[str, str]
    missing: list[str]

    def signature(self) -> tuple:
        return tuple(sorted(self.found.items()))


def resolve(names: list[str], columns: tuple[Column, ...]) -> Mapping:
    """Map a file's column ``names`` onto ``columns`` (first matching alias wins)."""
    by_key: dict[str, str] = {}
    for n in names:
        by_key.setdefault(normalise(n), n)
    found, missing = {}, []
    for col in columns:
        actual = next((by_key[k] for k in col.keys() if k in by_key), None)
        if actual is not None:
            found[col.name] = actual
        elif col.required:
            missing.append(col.name)
    return Mapping(found, missing)


def kind_of_arrow(arrow_type) -> str | None:
    """The column kind an Arrow type provides (None for anything else: lists, structs, binary...)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "str"
    return None


def kind_accepts(wanted: str, have: str | None) -> bool:
    """Whether a column of kind ``have`` can fill a canonical column of kind ``wanted`` without loss
    of meaning (integers fill float columns; nothing else converts)."""
    return have == wanted or (wanted == "float" and have == "int")
