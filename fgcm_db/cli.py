"""The ``fgcm-db`` command line: argument parsing only; each command calls one stage function.

Errors that users can fix (:class:`~fgcm_db.errors.FgcmDbError`) are printed as one line on stderr
with a non-zero exit status (2 bad input, 3 calibration failed, 4 database busy); anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .db import DEFAULT_DB_PATH
from .errors import FgcmDbError

log = logging.getLogger("fgcm_db")


# --------------------------------------------------------------------------------------------
# Command handlers: each imports its stage lazily (fast start-up) and calls one function.
# --------------------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import run_ingest

    run_ingest(
        args.db, sources=args.sources, visits=args.visits, camera=args.camera, refcat=args.refcat,
        config_path=args.config, site=args.site, visit=args.visit, detector=args.detector,
    )
    return 0


def cmd_make_lut(args: argparse.Namespace) -> int:
    from .lut import run_make_lut

    run_make_lut(
        args.db, atmosphere=args.atmosphere, throughput=args.throughput, camera=args.camera,
        config_path=args.config,
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import run_simulate

    run_simulate(
        args.out, preset=args.preset, seed=args.seed, atmosphere=args.atmosphere,
        sed_library=args.sed_library, config_path=args.config,
    )
    return 0


def cmd_build_stars(args: argparse.Namespace) -> int:
    from .stars import run_build_stars

    run_build_stars(args.db, config_path=args.config)
    return 0


def cmd_fit_cycle(args: argparse.Namespace) -> int:
    from .fit.cycle import run_fit_cycle

    run_fit_cycle(args.db, cycle=args.cycle, config_path=args.config)
    return 0


def cmd_calibrate_tract(args: argparse.Namespace) -> int:
    from .fit.tract import run_calibrate_tract

    run_calibrate_tract(
        args.db, tract=args.tract, max_cycles=args.max_cycles, tolerance=args.tolerance,
        config_path=args.config, plots_dir=args.plots,
    )
    return 0


def cmd_plots(args: argparse.Namespace) -> int:
    from .plots import run_plots

    run_plots(args.db, out_dir=args.out)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import run_export

    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    run_export(args.db, out_dir=args.out, tables=tables)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from .query import run_sql

    run_sql(args.db, args.query, fmt=args.format, out=args.out, max_rows=args.max_rows)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .info import run_info

    run_info(args.db)
    return 0


def cmd_calibrate_exposure(args: argparse.Namespace) -> int:
    from .exposure.calibrate import run_calibrate_exposure

    return run_calibrate_exposure(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(workdir=args.workdir, preset=args.preset, seed=args.seed)
    return 0


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------
def _db_option(parser: argparse.ArgumentParser, top: bool) -> None:
    parser.add_argument(
        "--db",
        default=DEFAULT_DB_PATH if top else argparse.SUPPRESS,
        help=f"the DuckDB database file (default: ./{DEFAULT_DB_PATH})",
    )


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="TOML file overriding configuration defaults")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fgcm-db",
        description="Photometric calibration of imaging surveys with FGCM, on one DuckDB file.",
    )
    parser.add_argument("--version", action="version", version=f"fgcm-db {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    _db_option(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        _db_option(p, top=False)
        p.set_defaults(handler=handler)
        return p

    p = add("ingest", cmd_ingest, "load source catalogs and visit summaries into the database")
    p.add_argument("--sources", required=True,
                   help="sourceTable_visit parquet or src FITS: a file, a directory or a glob")
    p.add_argument("--visits", required=True, help="visit summary (parquet or FITS binary table)")
    p.add_argument("--camera", default=None, help="camera geometry (YAML or parquet); default: HSC-like")
    p.add_argument("--refcat", default=None, help="reference catalog (parquet)")
    p.add_argument("--site", default=None, help="observatory preset: subaru, blanco, rubin (default: config)")
    p.add_argument("--visit", type=int, default=None, help="visit id for src FITS files that lack it")
    p.add_argument("--detector", type=int, default=None, help="detector id for src FITS files that lack it")
    _config_option(p)

    p = add("make-lut", cmd_make_lut, "build the atmosphere + instrument look-up table")
    p.add_argument("--atmosphere", default=None, help="FGCM-format atmosphere table (FITS); default: built-in model")
    p.add_argument("--throughput", default=None,
                   help="throughput file (parquet/CSV: physical_filter, wavelength nm, throughput, [detector]) or "
                        "an HSC component-curve directory; default: embedded HSC g,r,i,z,y")
    p.add_argument("--camera", default=None,
                   help="camera geometry for per-detector curves (default: the ingested detectors, else HSC-like)")
    _config_option(p)

    p = add("simulate", cmd_simulate, "write a simulated survey tract with known truth")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--preset", default="small", choices=["tiny", "small", "tract"],
                   help="survey size in observations kept by ingest: tiny (~10^4, g r), small "
                        "(~2x10^5, g r i z), tract (~2x10^6, g r i z y); default small")
    p.add_argument("--seed", type=int, default=1, help="random seed; a seed gives identical files (default 1)")
    p.add_argument("--atmosphere", default=None, help="FGCM-format atmosphere table to simulate with")
    p.add_argument("--sed-library", default=None, help="directory of Pickles-format stellar spectra")
    _config_option(p)

    p = add("build-stars", cmd_build_stars, "match observations into unique calibration stars")
    _config_option(p)

    p = add("fit-cycle", cmd_fit_cycle, "run one FGCM fit cycle")
    p.add_argument("--cycle", type=int, default=None, help="cycle number (default: next)")
    _config_option(p)

    p = add("calibrate-tract", cmd_calibrate_tract, "the whole tract calibration: LUT, stars, fit cycles, products")
    p.add_argument("--tract", type=int, default=None,
                   help="calibrate the sky region [tract.regions.N] of the config (default: everything ingested)")
    p.add_argument("--max-cycles", type=int, default=None,
                   help="fit cycles at most before the final no-fit cycle (default: [tract] max_cycles, 5)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="convergence: every band's reserved-star repeatability improves by less than this "
                        "between cycles, mag (default: [fit] convergence_tolerance, 0.005)")
    p.add_argument("--plots", default=None, help="write QA plots (PNG) to this directory")
    _config_option(p)

    p = add("plots", cmd_plots, "(re)make the QA plots from the tables")
    p.add_argument("--out", required=True, help="output directory for PNG files")

    p = add("export", cmd_export, "write result tables to parquet")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--tables", default=None, help="comma-separated table names (default: all contract tables)")

    p = add("sql", cmd_sql, "run a read-only SQL query")
    p.add_argument("query", help="SELECT / WITH / DESCRIBE / SHOW / EXPLAIN / SUMMARIZE statement")
    p.add_argument("--format", default="table", choices=["table", "csv", "json", "parquet"])
    p.add_argument("--out", default=None, help="write the result to this file")
    p.add_argument("--max-rows", type=int, default=50, help="rows shown in table format (0: all)")

    p = add("info", cmd_info, "what the database holds")

    p = add("calibrate-exposure", cmd_calibrate_exposure,
            "calibrate one exposure: detect, measure, fit WCS and photometric zero-point")
    p.add_argument("--exposure", required=True, help="FITS exposure with IMAGE/MASK/VARIANCE HDUs")
    p.add_argument("--refcat", required=True,
                   help="reference catalog (parquet: ra, dec, <band>_mag|<band>_flux [nJy] and errors)")
    p.add_argument("--icsrc", default=None, help="characterisation catalog (parquet/FITS) to copy calib_psf_* from")
    p.add_argument("--band", default=None, help="band (default: from the header FILTER via [exposure] filter_to_band)")
    p.add_argument("--physical-filter", default=None, help="physical filter (default: header FILTER, else the band)")
    p.add_argument("--visit", type=int, default=None, help="visit id (default: header VISIT/EXPID)")
    p.add_argument("--detector", type=int, default=None, help="detector id (default: header DETECTOR/CCDNUM)")
    p.add_argument("--exposure-id", type=int, default=None, help="exposure id (default: visit * 1000 + detector)")
    p.add_argument("--psf-fwhm", type=float, default=None,
                   help="PSF FWHM, arcsec (default: header PSF_FWHM, else estimated from the image)")
    p.add_argument("--no-astrometry", action="store_true", help="keep the starting WCS (no astrometric fit)")
    p.add_argument("--no-photocal", action="store_true", help="skip the zero-point (status photocal_skipped)")
    p.add_argument("--allow-astrometry-failure", action="store_true",
                   help="record a failed astrometric fit (status astrometry_failed, ra/dec NULL) instead of exit 3")
    p.add_argument("--allow-photocal-failure", action="store_true",
                   help="record a failed zero-point (status photocal_failed) instead of exit 3")
    p.add_argument("--mask-bad-variance", action="store_true",
                   help="mask unmasked pixels with VARIANCE <= 0 or NaN as BAD instead of refusing the file")
    p.add_argument("--out-sources", default=None, help="also write the sources as sourceTable_visit parquet")
    p.add_argument("--out-fits", default=None, help="write the exposure with the fitted WCS and MAGZERO keys here")
    _config_option(p)

    p = add("demo", cmd_demo, "simulate a tract, ingest it and calibrate it end to end")
    p.add_argument("--workdir", default="fgcm-demo", help="directory for the simulated inputs and outputs")
    p.add_argument("--preset", default="small", choices=["tiny", "small", "tract"])
    p.add_argument("--seed", type=int, default=1)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose + 1, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except FgcmDbError as exc:
        print(f"fgcm-db {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"fgcm-db {args.command}: interrupted; the database is as it was before this command",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
