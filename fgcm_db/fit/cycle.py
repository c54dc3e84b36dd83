"""One FGCM fit cycle against the database: ``fgcm-db fit-cycle [--cycle N]``.

:func:`run_fit_cycle` is the command (a stage: one ``runs`` row, one transaction). :func:`fit_cycle`
runs a cycle on an open :class:`~fgcm_db.db.Database` inside the caller's transaction, so that
``calibrate-tract`` can loop cycles: it loads the inputs (or reuses ``previous.inputs``), runs
:func:`fgcm_db.fit.engine.run_cycle` and writes the tables of migrations/0006_fit.sql keyed by
(run_id, cycle).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from ..config import Config, load_config
from ..db import Database
from ..errors import FgcmDbError
from ..progress import say, status
from .data import fetch, load_inputs
from .engine import CycleOutputs, bounds_line, run_cycle, summary_line
from .inputs import CycleInputs, FitState
from .tables import delete_stale, load_state, write_cycle

log = logging.getLogger(__name__)


@dataclasses.dataclass
class CycleResult:
    """What a cycle hands to its caller and to the next cycle.

    Attributes
    ----------
    cycle, run_id, final : the cycle's key and kind.
    repeatability : band -> reserved raw repeatability, mag (NaN when not measurable).
    chi2_per_dof : of the fit at its end.
    next_cuts : band -> (low, high) exposure-gray cuts for the next cycle, mag.
    converged : the repeatability rule of FGCMCAL_PIPELINE.md 6.1 against the previous cycle.
    state : the FitState for the next cycle; inputs : the arrays it was computed on (reused by the
    next cycle in the same process); outputs : every array of the cycle.
    """

    cycle: int
    run_id: int
    final: bool
    repeatability: dict[str, float]
    chi2_per_dof: float
    next_cuts: dict[str, tuple[float, float]]
    converged: bool
    state: FitState
    inputs: CycleInputs
    outputs: CycleOutputs


def fit_cycle(db: Database, config: Config, run_id: int, cycle: int, previous: CycleResult | FitState | None = None,
              final: bool = False, inputs: CycleInputs | None = None) -> CycleResult:
    """Run cycle ``cycle`` on an open database, inside the caller's transaction.

    Parameters
    ----------
    config : the whole configuration (uses ``config.fit``).
    run_id : the caller's run; the cycle's rows are keyed by (run_id, cycle).
    previous : the previous cycle's CycleResult (or FitState); None for cycle 0.
    final : the clean-up cycle (no fit, no atmosphere reset, superstar kept).
    inputs : the arrays to use (default: ``previous.inputs``, else loaded from the database).
    """
    cfg = config.fit
    if cycle > 0 and previous is None:
        raise FgcmDbError(f"fit cycle {cycle} needs the state of cycle {cycle - 1}")
    if inputs is None:
        inputs = previous.inputs if isinstance(previous, CycleResult) else None
    if inputs is None:
        with status("loading observations for the fit"):
            inputs = load_inputs(db, cfg)
    prev_state = previous.state if isinstance(previous, CycleResult) else previous
    t0 = time.perf_counter()
    out = run_cycle(inputs, cfg, cycle, prev_state, final)
    write_cycle(db, run_id, inputs, out)
    say(summary_line(out, inputs) + f" [{time.perf_counter() - t0:.1f} s]")
    bounds = bounds_line(out)
    if bounds:
        log.warning(bounds)
    bands = inputs.bands
    return CycleResult(
        cycle=cycle, run_id=run_id, final=final,
        repeatability={b: float(out.state.repeatability[i]) for i, b in enumerate(bands)},
        chi2_per_dof=float(out.chi2_per_dof),
        next_cuts={b: (float(out.state.cuts[i, 0]), float(out.state.cuts[i, 1])) for i, b in enumerate(bands)},
        converged=out.converged, state=out.state, inputs=inputs, outputs=out,
    )


def load_previous(db: Database, config: Config, run_id: int, cycle: int, inputs: CycleInputs | None = None) -> CycleResult:
    """Rebuild the CycleResult of (run_id, cycle) from the tables (to continue a chain)."""
    inputs = inputs or load_inputs(db, config.fit)
    n_wash = len(config.fit.wash_mjds) + 1
    n_epoch = len(config.fit.epoch_mjds) + 1
    state = load_state(db, run_id, cycle, inputs, n_wash, n_epoch)
    bands = inputs.bands
    return CycleResult(
        cycle=cycle, run_id=run_id, final=False,
        repeatability={b: float(state.repeatability[i]) for i, b in enumerate(bands)}, chi2_per_dof=float("nan"),
        next_cuts={b: (float(state.cuts[i, 0]), float(state.cuts[i, 1])) for i, b in enumerate(bands)},
        converged=False, state=state, inputs=inputs, outputs=None,
    )


def run_fit_cycle(db_path: str | Path, cycle: int | None = None, config_path: str | Path | None = None) -> CycleResult:
    """The ``fgcm-db fit-cycle`` command: run cycle N (default: the one after the last one written).

    Cycle N > 0 continues from cycle N - 1 of the latest successful fit-cycle run that wrote it.
    Rows of earlier fit-cycle runs for cycles >= N are replaced.
    """
    config = load_config(config_path)
    with Database(db_path) as db:
        if cycle is None:
            latest = fetch(db, "fit_latest_cycle") if db.table_exists("cycle_summary") else {"cycle": []}
            cycle = int(latest["cycle"][0]) + 1 if len(latest["cycle"]) else 0
        if cycle < 0:
            raise FgcmDbError(f"--cycle {cycle}: cycle numbers start at 0")
        previous = None
        if cycle > 0:
            found = fetch(db, "fit_cycle_run", {"cycle": cycle - 1})
            if not len(found["run_id"]) or not np.isfinite(found["run_id"][0]):
                raise FgcmDbError(f"--cycle {cycle}: no successful fit-cycle run wrote cycle {cycle - 1}; "
                                  f"run `fgcm-db fit-cycle --cycle {cycle - 1}` first")
            previous = load_previous(db, config, int(found["run_id"][0]), cycle - 1)
        with db.stage("fit-cycle", {**config.to_dict(), "cycle": cycle}) as run_id:
            delete_stale(db, cycle)
            return fit_cycle(db, config, run_id, cycle, previous)
