"""Benchmark of the whole job on the `tract` preset: ingest + calibrate-tract, time per stage, peak RSS.

    python bench/tract.py [--workdir DIR] [--preset tract] [--seed 1] [--max-cycles 5]

The simulation is written once into WORKDIR/sim (reused when present; its time is not part of the
job). ``ingest`` and ``calibrate-tract`` each run in a child process so that the peak RSS of each is its
own (``os.wait4``); calibrate-tract reports the time of each of its steps. Numbers depend on the load
of the machine: say what else was running when you quote them. Prints numbers, never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fgcm_db.demo import write_demo_config

CALIBRATE = """
import json, sys
from fgcm_db.fit.tract import run_calibrate_tract
r = run_calibrate_tract(sys.argv[1], max_cycles=int(sys.argv[2]), config_path=sys.argv[3])
print(json.dumps({"timings": r.timings, "n_fit_cycles": r.n_fit_cycles, "converged": r.converged,
                  "repeatability_mmag": {b: v[-1] * 1000 for b, v in r.repeatability.items()},
                  "n_photo_calib": r.products.n_photo_calib, "n_std_stars": r.products.n_std_stars}))
"""


def child(args: list[str]) -> tuple[float, float, str]:
    """Run a child process; (wall seconds, peak RSS in GB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(args[:4])} ... failed with status {proc.returncode}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024**2, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="bench-tract")
    parser.add_argument("--preset", default="tract")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-cycles", type=int, default=5)
    args = parser.parse_args()
    work = Path(args.workdir)
    sim = work / "sim"
    py = sys.executable
    if not (sim / "visit_summary.parquet").exists():
        t, rss, _ = child([py, "-m", "fgcm_db.cli", "simulate", "--out", str(sim), "--preset", args.preset,
                           "--seed", str(args.seed)])
        print(f"simulate ({args.preset}, not part of the job): {t:.1f} s, peak RSS {rss:.2f} GB")
    db = work / "fgcm.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    config = str(write_demo_config(work / "fgcm.toml", sim))  # local background, mirror wash (as the demo)
    t_ing, rss_ing, _ = child([py, "-m", "fgcm_db.cli", "--db", str(db), "ingest", "--sources", str(sim / "sources"),
                               "--visits", str(sim / "visit_summary.parquet"), "--camera", str(sim / "camera.yaml"),
                               "--refcat", str(sim / "refcat.parquet"), "--config", config])
    t_cal, rss_cal, out = child([py, "-c", CALIBRATE, str(db), str(args.max_cycles), config])
    res = json.loads(out.strip().splitlines()[-1])
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    n_obs = con.execute("SELECT count(*) FROM observations").fetchall()[0][0]
    n_src = con.execute("SELECT count(*) FROM sources").fetchall()[0][0]
    con.close()
    print(f"preset {args.preset}, seed {args.seed}: {n_src:,} sources, {n_obs:,} selected observations")
    print(f"ingest:          {t_ing:7.1f} s   peak RSS {rss_ing:.2f} GB")
    print(f"calibrate-tract: {t_cal:7.1f} s   peak RSS {rss_cal:.2f} GB   ({res['n_fit_cycles']} fit cycles, "
          f"{'converged' if res['converged'] else 'not converged'})")
    for step, sec in res["timings"].items():
        print(f"    {step:<12s} {sec:7.1f} s")
    print(f"total (ingest + calibrate-tract): {t_ing + t_cal:.1f} s")
    print("repeatability (mmag): " + ", ".join(f"{b} {v:.2f}" for b, v in res["repeatability_mmag"].items()))
    print(f"products: {res['n_photo_calib']:,} photo_calib rows, {res['n_std_stars']:,} standard stars")


if __name__ == "__main__":
    main()
