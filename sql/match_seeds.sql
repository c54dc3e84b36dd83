-- match_seeds: (empty) table of seed stars; each primary band round appends its new seeds.
-- Grain: one row per seed star.
CREATE OR REPLACE TEMP TABLE match_seeds (
    seed_source BIGINT NOT NULL,   -- smallest sourceId among the seed's observations (a stable key)
    seed_band   VARCHAR NOT NULL,  -- primary band that seeded it
    n_seed_obs  BIGINT NOT NULL,   -- observations of that band in the seed cluster
    cx          DOUBLE NOT NULL,   -- unit vector of the seed position
    cy          DOUBLE NOT NULL,
    cz          DOUBLE NOT NULL,
    mpix        BIGINT NOT NULL    -- HEALPix nest pixel at the matching order
);
