"""build-stars: turn the selected observations into unique multi-band calibration stars.

The work is SQL over DuckDB (``sql/match_*.sql``, ``sql/stars_*.sql``); this module orchestrates it
and supplies what SQL lacks: HEALPix pixel ids and neighbour lists (hpgeom, as DuckDB functions), a
stable integer hash, and the connected components of the seed graph (scipy). Steps:

1. Every observation gets its unit vector and its nest pixel at the *matching order*, the finest
   HEALPix order whose pixels are >= 2.5 match radii wide, so that any two points within the radius
   lie in the same or in neighbouring pixels (checked on the whole sphere, poles included). Candidate
   pairs come from equality joins on (pixel, neighbour) rows, never a cross join; the exact distance
   cut compares squared chords of unit vectors, which has no RA = 0/360 seam and no pole singularity.
2. Seeds, per primary band in priority order: that band's observations that are not within the match
   radius of an earlier seed form a graph (edges: pairs within the radius); each connected component
   with >= ``min_obs_per_band`` observations is a seed star at the mean unit vector of its members.
   Components do not depend on pixel boundaries, so a star straddling an edge is found exactly once.
3. Star ids 1..N in HEALPix order; isolation cut (every star with another star within the isolation
   radius is removed, both of them, as in fgcm).
4. Every observation of every band goes to the nearest surviving star within the match radius.
5. Stars with two observations in one visit are blends of two sources and are removed; then the
   required-bands cut, then the density cap per HEALPix pixel (seeded hash), then 10% reserved stars by
   a stable hash of star_id (splitmix64, identical on every machine and DuckDB version).
6. Reference match: nearest reference object within the radius, colour terms per band.

Outputs: ``stars`` (one ``nobs_{band}`` column per observed band, added with sqlglot-built ALTERs),
``star_nobs``, ``star_obs``, ``star_ref``, ``build_stats``. FGCM_ALGORITHM.md section 9 and
FGCMCAL_PIPELINE.md section 3 describe the reference algorithm (fgcm's FgcmMakeStars).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import hpgeom
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlglot import exp

from .astro import HEALPIX_ORDER
from .config import Config, load_config
from .configs.stars import StarsConfig
from .db import Database, bind_parameters, sql_text
from .errors import FgcmDbError
from .progress import say, status

log = logging.getLogger(__name__)

#: a pixel used for matching within radius r is at least this many r wide (mean resolution): the
#: radius is then <= 0.4 pixel; a whole-sphere check loses pairs only beyond ~0.6-0.7 pixel
PIXEL_RADIUS_FACTOR = 2.5
#: finest HEALPix order used for matching
MAX_MATCH_ORDER = 24
#: seed-graph edges handed from DuckDB to the clustering per batch (memory: 16 bytes each)
EDGE_BATCH_ROWS = 4_000_000
#: ``stars.flag`` bit of a reserved star (fgcm's RESERVED object flag)
RESERVED_FLAG = 16
#: usual band order for the ``nobs_{band}`` columns; other bands follow alphabetically
BAND_ORDER = ("u", "g", "r", "i", "z", "y")

OUTPUT_TABLES = ("stars", "star_nobs", "star_obs", "star_ref", "build_stats")
_TEMP_TABLES = (
    "match_obs", "match_obs_neighbours", "match_seeds", "match_seed_candidates", "match_star_candidates",
    "match_star_neighbours", "match_crowded_stars", "match_assoc", "stars_status", "stars_final",
    "stars_final_neighbours",
)
_MASK64 = (1 << 64) - 1


@dataclasses.dataclass(frozen=True)
class BuildSummary:
    """What a build produced (the full counts are in ``build_stats``)."""

    n_observations: int
    n_stars: int
    n_star_obs: int
    n_reserved: int
    n_reference: int
    bands: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Pure helpers (numpy): pixel orders, chords, hashes, clustering
# ---------------------------------------------------------------------------------------------
def pixel_order_for_radius(radius_arcsec: float, max_order: int = MAX_MATCH_ORDER) -> int:
    """Finest HEALPix order whose mean pixel size is >= ``PIXEL_RADIUS_FACTOR`` x the radius.

    Parameters
    ----------
    radius_arcsec : float, arcsec
        The matching radius.
    max_order : int
        Upper bound of the result.
    """
    order = 0
    for candidate in range(max_order + 1):
        resolution = hpgeom.nside_to_resolution(2**candidate, units="arcseconds")
        if resolution >= PIXEL_RADIUS_FACTOR * radius_arcsec:
            order = candidate
    return order


def chord2_for_radius(radius_arcsec: float) -> float:
    """Squared chord length between unit vectors separated by ``radius_arcsec`` (exact)."""
    return (2.0 * math.sin(math.radians(radius_arcsec / 3600.0) / 2.0)) ** 2


def splitmix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (Steele, Lea & Flood 2014) on uint64, wrapping arithmetic."""
    z = np.asarray(values, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def stable_hash_unit(ids: np.ndarray | Sequence[int], salt: int) -> np.ndarray:
    """A uniform draw in [0, 1) per id, a pure function of (id, salt): the same on every machine.

    ``splitmix64(id XOR splitmix64(salt))``, top 53 bits scaled to [0, 1).
    """
    salted = splitmix64(np.array([salt & _MASK64], dtype=np.uint64))[0]
    mixed = splitmix64(np.asarray(ids, dtype=np.int64).view(np.uint64) ^ salted)
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _pixels_around(order: int, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 9) array of each pixel then its 8 neighbours, and the mask of real ones (hpgeom gives -1
    where a pixel has only 7 neighbours)."""
    around = np.empty((pixels.size, 9), dtype=np.int64)
    around[:, 0] = pixels
    if pixels.size:
        around[:, 1:] = hpgeom.neighbors(2**order, pixels, nest=True)
    return around, around >= 0


def healpix_neighbourhood(order: int, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each nest pixel and its 8 (or 7) neighbours as flat (pixel, neighbour) int64 arrays."""
    pixels = np.asarray(pixels, dtype=np.int64)
    around, real = _pixels_around(order, pixels)
    return np.repeat(pixels, real.sum(axis=1)), around[real]


def merge_clusters(labels: np.ndarray, nodes: np.ndarray, source_a: np.ndarray, source_b: np.ndarray) -> np.ndarray:
    """Connected-component labels after adding a batch of edges to an undirected graph.

    Feeding the edges batch by batch gives the same partition as all at once (each batch is a graph
    over the components found so far), so the memory is bounded by the batch, not the edge count.

    Parameters
    ----------
    labels : ndarray of int64
        Current component label of every node, in 0..n-1 (``np.arange(n)`` before any edge).
    nodes : ndarray of int64, sorted, unique
        Node keys (sourceIds).
    source_a, source_b : ndarray of int64
        Edge end points (keys present in ``nodes``).

    Returns
    -------
    ndarray of int64, the new label of every node (equal labels: same component).
    """
    ia = labels[np.searchsorted(nodes, source_a)]
    ib = labels[np.searchsorted(nodes, source_b)]
    new = ia != ib
    if not new.any():
        return labels
    n = nodes.size
    graph = coo_matrix((np.ones(int(new.sum()), dtype=np.int8), (ia[new], ib[new])), shape=(n, n)).tocsr()
    _, component = connected_components(graph, directed=False)
    return component.astype(np.int64)[labels]


# ---------------------------------------------------------------------------------------------
# DuckDB functions (vectorised Arrow UDFs)
# ---------------------------------------------------------------------------------------------
def _constant(column: pa.Array) -> int:
    return int(column[0].as_py())


def _udf_healpix_nest(order: pa.Array, ra: pa.Array, dec: pa.Array) -> pa.Array:
    ra_deg = np.mod(np.asarray(ra, dtype=np.float64), 360.0)
    dec_deg = np.clip(np.asarray(dec, dtype=np.float64), -90.0, 90.0)
    if ra_deg.size == 0:
        return pa.array(np.zeros(0, dtype=np.int64))
    pix = hpgeom.angle_to_pixel(2 ** _constant(order), ra_deg, dec_deg, nest=True, lonlat=True, degrees=True)
    return pa.array(np.asarray(pix, dtype=np.int64))


def _udf_healpix_neighbourhood(order: pa.Array, pixel: pa.Array) -> pa.Array:
    around, real = _pixels_around(_constant(order), np.asarray(pixel, dtype=np.int64))
    offsets = np.concatenate([[0], np.cumsum(real.sum(axis=1))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(around[real], type=pa.int64()))


def _udf_hash_unit(ids: pa.Array, salt: pa.Array) -> pa.Array:
    values = np.asarray(ids, dtype=np.int64)
    if values.size == 0:
        return pa.array(np.zeros(0, dtype=np.float64))
    return pa.array(stable_hash_unit(values, _constant(salt)))


_UDFS = (
    ("fgcm_healpix_nest", _udf_healpix_nest, ["INTEGER", "DOUBLE", "DOUBLE"], "BIGINT"),
    ("fgcm_healpix_neighbourhood", _udf_healpix_neighbourhood, ["INTEGER", "BIGINT"], "BIGINT[]"),
    ("fgcm_hash_unit", _udf_hash_unit, ["BIGINT", "BIGINT"], "DOUBLE"),
)


@contextlib.contextmanager
def registered_functions(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Make the HEALPix and hash functions of the ``sql/match_*`` statements callable in ``con``."""
    for name, func, params, returns in _UDFS:
        with contextlib.suppress(duckdb.Error):
            con.remove_function(name)
        con.create_function(name, func, params, returns, type="arrow", side_effects=False)
    try:
        yield
    finally:
        for name, *_ in _UDFS:
            with contextlib.suppress(duckdb.Error):
                con.remove_function(name)


@contextlib.contextmanager
def _registered(db: Database, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` visible to SQL as ``name`` for the block (an error inside keeps its own message)."""
    db.con.register(name, table)
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # fails only in an aborted transaction
            db.con.unregister(name)


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------
def ordered_bands(bands: Sequence[str]) -> list[str]:
    """Bands in the usual u g r i z y order, others after them alphabetically."""
    rank = {b: i for i, b in enumerate(BAND_ORDER)}
    return sorted(set(bands), key=lambda b: (rank.get(b, len(rank)), b))


def stars_are_built(db: Database) -> bool:
    """True when ``stars`` holds at least one star (what calibrate-tract checks before building)."""
    return db.table_exists("stars") and db.row_count("stars") > 0


def build_stars(db: Database, config: Config | StarsConfig, run_id: int) -> BuildSummary:
    """Build the star tables from ``observations`` (and ``refcat``), replacing earlier ones.

    Runs inside the caller's transaction (``db.stage``); writes ``stars``, ``star_nobs``,
    ``star_obs``, ``star_ref`` and ``build_stats`` tagged with ``run_id``.

    Parameters
    ----------
    db : Database
        Open, writable database.
    config : Config or StarsConfig
        The whole configuration or its ``[stars]`` section.
    run_id : int
        The run these rows belong to.

    Raises
    ------
    FgcmDbError
        No observations, no observations in any primary band, or a required band with none.
    """
    cfg = config.stars if isinstance(config, Config) else config
    cfg.validate()
    band_counts = {band: int(n) for band, n in db.execute("stars_observed_bands").fetchall()}
    primary = _check_bands(db, cfg, band_counts)
    bands = ordered_bands(band_counts)

    match_order = pixel_order_for_radius(cfg.match_radius_arcsec)
    star_order = min(
        HEALPIX_ORDER, pixel_order_for_radius(max(cfg.isolation_radius_arcsec, cfg.reference_match_radius_arcsec))
    )
    star_shift = 2 * (HEALPIX_ORDER - star_order)
    match_chord2 = chord2_for_radius(cfg.match_radius_arcsec)
    log.debug("matching order %d, star order %d", match_order, star_order)

    with registered_functions(db.con):
        with status(f"build-stars: indexing {sum(band_counts.values()):,} observations"):
            db.execute("match_obs", {"match_order": match_order})
            db.execute("match_obs_neighbours", {"match_order": match_order})
            db.execute("match_seeds")
        for band in primary:
            with status(f"build-stars: seeding stars from {band}-band observations"):
                _seed_band(db, band, match_order, match_chord2, cfg.min_obs_per_band)
        with status("build-stars: isolation cut and association of all observations"):
            db.execute("match_star_candidates", {"star_shift": star_shift})
            db.execute("match_star_neighbours", {"star_order": star_order})
            db.execute("match_crowded_stars", {"isolation_chord2": chord2_for_radius(cfg.isolation_radius_arcsec)})
            db.execute("match_assoc", {"match_chord2": match_chord2, "match_order": match_order})
        with status("build-stars: band, blend and density cuts"):
            db.execute("stars_status", {
                "required_bands": list(dict.fromkeys(cfg.required_bands)), "min_obs": cfg.min_obs_per_band,
            })
            density_order = int(round(math.log2(cfg.density_cut_nside)))
            db.execute("stars_final", {
                "density_shift": 2 * (HEALPIX_ORDER - density_order), "density_seed": cfg.density_seed,
                "density_max": cfg.density_max_per_pixel, "reserve_seed": cfg.reserve_seed,
                "reserve_fraction": cfg.reserve_fraction, "reserved_flag": RESERVED_FLAG, "star_shift": star_shift,
            })
            db.execute("stars_final_neighbours", {"star_order": star_order})
        with status("build-stars: writing star tables and reference magnitudes"):
            _clear_outputs(db)
            db.execute("stars_star_nobs", {"run_id": run_id})
            db.execute("stars_star_obs", {"run_id": run_id})
            _write_stars(db, bands, run_id)
            _match_reference(db, cfg, bands, star_shift, run_id)
            db.execute("stars_build_stats", {"run_id": run_id})
        _drop_temp_tables(db)

    summary = _summary(db, sum(band_counts.values()), bands)
    _warn_if_empty(db, cfg, summary)
    return summary


def run_build_stars(db_path: str | Path, config_path: str | Path | None = None) -> BuildSummary:
    """``fgcm-db build-stars``: build the star tables of the database at ``db_path``.

    Parameters
    ----------
    db_path : str or Path
        The DuckDB file written by ``fgcm-db ingest``.
    config_path : str or Path, optional
        TOML overrides (section ``[stars]``).
    """
    config = load_config(config_path)
    if not Path(db_path).exists():
        raise FgcmDbError(f"no database at {db_path}: run `fgcm-db ingest` first, or name one with --db")
    with Database(db_path) as db:
        db.execute("stars_memory_limit", {"memory_limit": config.stars.memory_limit})
        if config.stars.threads:
            db.execute("stars_threads", {"threads": config.stars.threads})
        with db.stage("build-stars", config.to_dict()) as run_id:
            summary = build_stars(db, config, run_id)
    say(
        f"build-stars: {summary.n_stars:,} stars ({summary.n_reserved:,} reserved) from "
        f"{summary.n_observations:,} observations; {summary.n_star_obs:,} assigned; "
        f"{summary.n_reference:,} with reference magnitudes; bands {', '.join(summary.bands)}"
    )
    return summary


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------
def _check_bands(db: Database, cfg: StarsConfig, band_counts: dict[str, int]) -> list[str]:
    """Fail clearly on missing observations or bands; return the primary bands present."""
    if not band_counts:
        raise FgcmDbError(
            f"no observations selected: table `observations` in {db.path} is empty; run `fgcm-db ingest` "
            "(its selection_summary table tells why sources were rejected)"
        )
    observed = ", ".join(ordered_bands(band_counts))
    primary = [b for b in dict.fromkeys(cfg.primary_bands) if b in band_counts]
    if not primary:
        raise FgcmDbError(
            f"none of the primary bands [stars] primary_bands = {list(cfg.primary_bands)} has observations "
            f"(observed bands: {observed}); set primary_bands to observed bands"
        )
    absent = [b for b in cfg.primary_bands if b not in band_counts]
    if absent:
        log.info("primary band(s) %s have no observations; seeding from %s", ", ".join(absent), ", ".join(primary))
    missing = [b for b in cfg.required_bands if b not in band_counts]
    if missing:
        raise FgcmDbError(
            f"required band(s) {', '.join(missing)} have no observations in table `observations` "
            f"(observed bands: {observed}); remove them from [stars] required_bands or ingest their sources"
        )
    return primary


def _seed_band(db: Database, band: str, match_order: int, match_chord2: float, min_obs: int) -> None:
    """Append the seeds of one primary band: connected clusters of its not-yet-claimed observations.

    The edges (pairs within the radius) stream from DuckDB in batches into :func:`merge_clusters`,
    so deep fields (hundreds of visits, ~k^2/2 edges per star) do not need the edge list in memory.
    """
    db.execute("match_seed_candidates", {"band": band, "match_chord2": match_chord2, "match_order": match_order})
    nodes = np.asarray(db.execute("match_seed_candidate_ids").fetchnumpy()["sourceId"], dtype=np.int64)
    repeated = nodes[1:][np.diff(nodes) == 0]
    if repeated.size:
        raise FgcmDbError(
            f"table `observations` has {repeated.size} repeated sourceId values (e.g. {int(repeated[0])}) in "
            f"band {band}: sourceId must be unique; re-run `fgcm-db ingest` on sources with unique ids"
        )
    labels = np.arange(nodes.size, dtype=np.int64)
    text = sql_text("match_seed_pairs")
    edges = db.con.sql(text, params=bind_parameters(text, {"match_chord2": match_chord2}))
    # DuckDB 2 names it to_arrow_reader; 1.x fetch_arrow_reader (a streaming reader either way)
    batches = getattr(edges, "to_arrow_reader", None) or edges.fetch_arrow_reader
    n_edges = 0
    for batch in batches(EDGE_BATCH_ROWS):
        source_a = batch.column(0).to_numpy()
        labels = merge_clusters(labels, nodes, source_a, batch.column(1).to_numpy())
        n_edges += source_a.size
    log.debug("band %s: %d seed candidates, %d edges", band, nodes.size, n_edges)
    with _registered(db, "seed_clusters", pa.table({"sourceId": nodes, "cluster": labels})):
        db.execute("match_seeds_insert", {"band": band, "min_obs": min_obs, "match_order": match_order})


def _clear_outputs(db: Database) -> None:
    """Delete every row of the output tables."""
    for table in OUTPUT_TABLES:
        db.con.execute(exp.delete(exp.to_table(table)).sql("duckdb"))


def _write_stars(db: Database, bands: Sequence[str], run_id: int) -> None:
    """Fill ``stars``, first giving it exactly one ``nobs_{band}`` column per observed band.

    The band columns are added (with a catalog comment) and dropped with ALTER TABLE so that the
    table keeps its documented columns; the statements are generated with sqlglot.
    """
    existing = [name for (name,) in db.execute("stars_nobs_columns").fetchall()]
    wanted = {f"nobs_{band}": band for band in bands}
    stars = exp.to_table("stars")
    for name in existing:
        if name not in wanted:
            drop = exp.Drop(tables=[exp.column(exp.to_identifier(name, quoted=True))], kind="COLUMN")
            db.con.execute(exp.Alter(this=stars, kind="TABLE", actions=[drop]).sql("duckdb"))
    for name, band in wanted.items():
        if name in existing:
            continue
        column = exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build("BIGINT"))
        db.con.execute(exp.Alter(this=stars, kind="TABLE", actions=[column]).sql("duckdb"))
        comment = exp.Comment(
            this=exp.column(exp.to_identifier(name, quoted=True), table="stars"), kind="COLUMN",
            expression=exp.Literal.string(f"observations of the star in band {band} [1]"),
        )
        db.con.execute(comment.sql("duckdb"))

    base = ("star_id", "ra", "dec", "healpix", "n_obs", "reserved", "flag")
    columns: list[exp.Expression] = [exp.column(name, "f") for name in base]
    for name, band in wanted.items():
        per_band = exp.Case().when(
            exp.column("band", "n").eq(exp.Literal.string(band)), exp.column("nobs", "n")
        ).else_(exp.Literal.number(0))
        columns.append(exp.alias_(
            exp.cast(exp.Coalesce(this=exp.Sum(this=per_band), expressions=[exp.Literal.number(0)]), "BIGINT"),
            exp.to_identifier(name, quoted=True),
        ))
    columns.append(exp.alias_(exp.cast(exp.Literal.number(int(run_id)), "BIGINT"), "run_id"))
    select = (
        exp.select(*columns)
        .from_(exp.to_table("stars_final").as_("f"))
        .join(exp.to_table("star_nobs").as_("n"), on="n.star_id = f.star_id", join_type="left")
        .group_by(*[exp.column(name, "f") for name in base])
        .order_by(exp.column("star_id", "f"))
    )
    target = exp.Schema(
        this=stars,
        expressions=[exp.to_identifier(name, quoted=True) for name in (*base, *wanted, "run_id")],
    )
    db.con.execute(exp.insert(select, target).sql("duckdb"))


def _match_reference(db: Database, cfg: StarsConfig, bands: Sequence[str], star_shift: int, run_id: int) -> None:
    """Fill ``star_ref``: colour-term table per observed band, then the SQL match."""
    ref_bands = {band for band, _ in db.execute("stars_refcat_bands").fetchall()}
    if not ref_bands:
        log.info("no reference catalog ingested: star_ref left empty")
        return
    rows = []
    for band in bands:
        term = cfg.color_terms.get(band)
        if term is not None:
            absent = [b for b in (term.primary, term.secondary) if b not in ref_bands]
            if absent:
                log.warning(
                    "[stars.color_terms.%s] uses reference band(s) %s absent from refcat (bands: %s): "
                    "no reference magnitudes in %s", band, ", ".join(absent), ", ".join(sorted(ref_bands)), band,
                )
                continue
            rows.append((band, term.primary, term.secondary, term.c0, term.c1, term.c2))
        elif band in ref_bands:
            rows.append((band, band, band, 0.0, 0.0, 0.0))
        else:
            log.info("band %s has neither a reference band of that name nor a colour term: no reference", band)
    names = ("band", "primary_band", "secondary_band", "c0", "c1", "c2")
    terms = pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)},
                     schema=pa.schema([(n, pa.string()) for n in names[:3]] + [(n, pa.float64()) for n in names[3:]]))
    with _registered(db, "star_color_terms", terms):
        db.execute("stars_star_ref", {
            "star_shift": star_shift,
            "ref_chord2": chord2_for_radius(cfg.reference_match_radius_arcsec),
            "run_id": run_id,
        })


def _drop_temp_tables(db: Database) -> None:
    """Free the working tables (after a failure the transaction's rollback discards them)."""
    for table in _TEMP_TABLES:
        db.con.execute(exp.Drop(tables=[exp.to_table(table)], kind="TABLE", exists=True).sql("duckdb"))


def _summary(db: Database, n_observations: int, bands: Sequence[str]) -> BuildSummary:
    counts = {step: int(n) for _, step, n in db.execute("stars_build_summary").fetchall()}
    return BuildSummary(
        n_observations=n_observations,
        n_stars=counts.get("stars", 0),
        n_star_obs=counts.get("star_obs", 0),
        n_reserved=counts.get("reserved_stars", 0),
        n_reference=counts.get("reference_stars", 0),
        bands=tuple(bands),
    )


def _warn_if_empty(db: Database, cfg: StarsConfig, summary: BuildSummary) -> None:
    """Warnings (not errors) for an empty result and for no reference overlap."""
    if summary.n_stars == 0:
        steps = db.execute("stars_build_summary").fetchall()
        detail = ", ".join(f"{step} {n}" for _, step, n in steps if step not in ("observations", "star_obs"))
        log.warning(
            "build-stars: every star was removed by the cuts (%s); loosen [stars] required_bands, "
            "min_obs_per_band, isolation_radius_arcsec or density_max_per_pixel", detail,
        )
        return
    if db.row_count("refcat") > 0 and summary.n_reference == 0:
        log.warning(
            "build-stars: no star has a reference-catalog object within %.3g arcsec: the reference "
            "catalog does not overlap the observations; star_ref is empty",
            cfg.reference_match_radius_arcsec,
        )
