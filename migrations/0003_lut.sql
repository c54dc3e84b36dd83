-- 0003_lut: the look-up table of passband integrals written by `fgcm-db make-lut`
-- (lut_meta, lut_axes, lut_std, lut_values) and the standard system (std_atmosphere, std_passband).
-- Units: nm, hPa, mm (PWV), Dobson (O3); integrals as defined in fgcm_db/lut_table.py.

-- One row: how the LUT was made and its standard atmosphere.
CREATE TABLE lut_meta (
    run_id             BIGINT NOT NULL,    -- runs.run_id of the make-lut run
    site               VARCHAR NOT NULL,   -- observatory preset
    atmosphere_source  VARCHAR NOT NULL,   -- 'builtin' or the FGCM table file name
    throughput_source  VARCHAR NOT NULL,   -- 'speclite hsc2017 ...', a file or a directory
    pressure_ref_hpa   DOUBLE NOT NULL,    -- pressure the moment tables are built at, hPa
    std_pwv_mm         DOUBLE NOT NULL,    -- standard atmosphere: PWV, mm
    std_o3_du          DOUBLE NOT NULL,    -- ozone, Dobson units
    std_tau            DOUBLE NOT NULL,    -- aerosol optical depth at 775 nm
    std_alpha          DOUBLE NOT NULL,    -- aerosol Angstrom exponent
    std_airmass        DOUBLE NOT NULL,    -- sec z
    std_pressure_hpa   DOUBLE NOT NULL,    -- hPa
    lambda_norm_nm     DOUBLE NOT NULL,    -- aerosol normalisation wavelength, nm
    wavelength_min_nm  DOUBLE NOT NULL,    -- integration grid, nm
    wavelength_max_nm  DOUBLE NOT NULL,
    wavelength_step_nm DOUBLE NOT NULL,
    detectors          INTEGER[] NOT NULL, -- detector ids with their own LUT row (row n = focal-plane mean)
    aerosol_nodes      INTEGER NOT NULL,   -- Chebyshev wavelengths per filter for the aerosol term
    node_values        INTEGER NOT NULL    -- numbers per node: 4 x aerosol_nodes (M0, M1, C0, C1)
);

-- Grid axes: one row per (axis, node). Axes lnpwv (ln mm), o3 (DU), secz, lntau, alpha.
CREATE TABLE lut_axes (
    axis  VARCHAR NOT NULL,
    idx   INTEGER NOT NULL,
    value DOUBLE NOT NULL,
    PRIMARY KEY (axis, idx)
);

-- One row per physical filter: the standard passband's integrals (CONTRACT.md `lut_std`).
CREATE TABLE lut_std (
    filter_idx          INTEGER PRIMARY KEY,
    physical_filter     VARCHAR NOT NULL,
    band                VARCHAR NOT NULL,
    std_physical_filter VARCHAR NOT NULL,  -- the filter whose lambda_std this one's I1 is taken about
    lambda_std          DOUBLE NOT NULL,   -- nm, photon-weighted mean wavelength of the standard filter's passband
    lambda_std_filter   DOUBLE NOT NULL,   -- nm, the same for this filter's own standard passband
    lambda_b            DOUBLE NOT NULL,   -- nm, the same without atmosphere
    i0_std              DOUBLE NOT NULL,   -- integral S_std / lambda dlambda
    i1_std              DOUBLE NOT NULL,   -- integral S_std (lambda - lambda_std) / lambda dlambda, nm
    i10_std             DOUBLE NOT NULL,   -- i1_std / i0_std, nm
    i2_std              DOUBLE NOT NULL,   -- integral S_std (lambda - lambda_std)^2 / lambda dlambda, nm^2
    aerosol_lambda_nm   DOUBLE[] NOT NULL  -- Chebyshev wavelengths of the aerosol interpolant, nm
);

-- Moment tables: one row per (filter, detector row), flattened C-order over
-- [lnpwv, o3, secz, value] with value = M0_j, M1_j, C0_j, C1_j for j < aerosol_nodes (fgcm_db/lut_table.py).
CREATE TABLE lut_values (
    filter_idx INTEGER NOT NULL,
    row_idx    INTEGER NOT NULL,  -- index into lut_meta.detectors; = its length for the focal-plane mean
    detector   INTEGER,           -- detector id; NULL for the focal-plane mean
    moments    FLOAT[] NOT NULL,
    PRIMARY KEY (filter_idx, row_idx)
);

-- The standard atmosphere: one row per wavelength.
CREATE TABLE std_atmosphere (
    wavelength   DOUBLE NOT NULL,  -- nm
    transmission DOUBLE NOT NULL   -- 0..1
);

-- Standard passband (focal-plane mean instrument x standard atmosphere): one row per (filter, wavelength).
CREATE TABLE std_passband (
    physical_filter VARCHAR NOT NULL,
    band            VARCHAR NOT NULL,
    wavelength      DOUBLE NOT NULL,  -- nm
    throughput      DOUBLE NOT NULL   -- 0..1
);
