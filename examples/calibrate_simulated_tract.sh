#!/usr/bin/env bash
# A worked example of the whole flow on a simulated tract: simulate, ingest, calibrate, look at the
# products, export them, apply the calibration to source fluxes. `fgcm-db demo` runs the first three
# steps in one command. Takes about 1-2 minutes on 2 cores for the `small` preset.
set -euo pipefail
WORK=${1:-fgcm-example}
DB=$WORK/fgcm.duckdb
mkdir -p "$WORK"
rm -f "$DB"

# 1. A simulated tract with known truth (the `small` preset: g r i z, 62 detectors, clouds on
#    some nights); sim/truth/ holds the true zero-points, atmosphere and star magnitudes.
fgcm-db simulate --out "$WORK/sim" --preset small --seed 1

# 2. The configuration of this survey: subtract the local background measured with each source (the
#    simulated images keep a residual background) and give the date of the mirror wash (an observatory
#    log gives it for real data; here the simulation's truth does).
WASH=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['wash_mjd'])" "$WORK/sim/truth/simulation.json")
cat > "$WORK/fgcm.toml" <<TOML
[ingest]
subtract_local_background = true

[fit]
wash_mjds = [$WASH]
TOML

# 3. Load the source tables (sourceTable_visit layout), the visit summary, the camera and the
#    reference catalog. Sources are selected here (flags, S/N, extendedness).
fgcm-db --db "$DB" ingest --sources "$WORK/sim/sources" --visits "$WORK/sim/visit_summary.parquet" \
    --camera "$WORK/sim/camera.yaml" --refcat "$WORK/sim/refcat.parquet" --config "$WORK/fgcm.toml"

# 4. The whole calibration: look-up table and stars (made because they are missing), fit cycles until
#    the reserved stars' repeatability stops improving by 5 mmag, a final no-fit cycle, the products
#    and the QA plots.
fgcm-db --db "$DB" calibrate-tract --max-cycles 5 --tolerance 0.005 --config "$WORK/fgcm.toml" --plots "$WORK/plots"

# 5. Look at the results with SQL (more queries in examples/products.sql).
fgcm-db --db "$DB" sql "SELECT band, n_fit_cycles, converged, repeatability_mmag, n_visits, n_stars FROM tract_summary"
fgcm-db --db "$DB" sql "SELECT cycle, band, repeatability_mmag, chi2_per_dof, n_visits_photometric FROM cycle_summary ORDER BY cycle, band"
fgcm-db --db "$DB" sql "SELECT band, source, offset_mag, scatter, n_stars FROM absolute_calibration"
fgcm-db --db "$DB" sql "SELECT visit, band, photometric, round(gray_mag * 1000, 1) AS gray_mmag, flag, n_detectors_calibrated FROM visit_atmosphere ORDER BY visit" --max-rows 20

# 6. A calibrate-tract restricted to a sky region: declare it in the config file and name it.
cp "$WORK/fgcm.toml" "$WORK/tract.toml"
cat >> "$WORK/tract.toml" <<'TOML'

[tract.regions.1]
ra = 150.0
dec = 2.2
radius_deg = 0.25
TOML
fgcm-db --db "$DB" calibrate-tract --tract 1 --config "$WORK/tract.toml" --max-cycles 3
fgcm-db --db "$DB" sql "SELECT tract, count(*) AS n_photo_calib FROM photo_calib GROUP BY tract"

# 7. Export the products as parquet (column descriptions and units inside) and apply photo_calib to
#    the raw source fluxes of one visit, outside the database.
fgcm-db --db "$DB" export --out "$WORK/export" --tables photo_calib,std_stars,visit_atmosphere,transmission,cycle_summary
python - "$WORK" <<'PY'
import sys
import numpy as np
import pyarrow.parquet as pq
from fgcm_db.products import ab_mag, calibrate_flux

work = sys.argv[1]
src = pq.read_table(f"{work}/sim/sources/visit_1008.parquet").to_pydict()
# the calibration flux: 12-pixel aperture minus the local background over the aperture (as configured)
counts = np.array(src["apFlux_12_0_instFlux"]) - np.pi * 12**2 * np.array(src["localBackground_instFlux"])
flux_njy = calibrate_flux(src["visit"], src["detector"], src["x"], src["y"], counts,
                          source=f"{work}/export/photo_calib.parquet", tract=None)
flux_njy = flux_njy[counts > 0]
print(f"visit 1008: {np.isfinite(flux_njy).sum()} sources calibrated; first AB magnitudes:", ab_mag(flux_njy[:5]).round(3))
PY
echo "plots: $WORK/plots/*.png"
