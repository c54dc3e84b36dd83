-- match_seeds (append): one seed star per connected cluster of seed-candidate observations holding
-- >= $min_obs observations, placed at the mean unit vector of its observations. The sum is taken
-- over fixed-point integers (unit vector * 2^50) so that it is exact and independent of the order
-- in which parallel threads add, and the output is identical run after run.
-- From: match_seed_candidates, seed_clusters (registered: sourceId -> cluster). Grain: one row per seed.
INSERT INTO match_seeds (seed_source, seed_band, n_seed_obs, cx, cy, cz, mpix)
WITH clustered_obs AS (
    SELECT c.cluster, o.sourceId, o.cx, o.cy, o.cz
    FROM match_seed_candidates AS o
    JOIN seed_clusters AS c ON c.sourceId = o.sourceId
),
cluster_sums AS (
    SELECT
        cluster,
        min(sourceId) AS seed_source,
        count(*) AS n_seed_obs,
        CAST(sum(CAST(round(cx * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sx,
        CAST(sum(CAST(round(cy * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sy,
        CAST(sum(CAST(round(cz * 1125899906842624.0) AS BIGINT)) AS DOUBLE) AS sz
    FROM clustered_obs
    GROUP BY cluster
    HAVING count(*) >= $min_obs
),
seed_vectors AS (
    SELECT
        seed_source, n_seed_obs,
        sx / sqrt(sx * sx + sy * sy + sz * sz) AS cx,
        sy / sqrt(sx * sx + sy * sy + sz * sz) AS cy,
        sz / sqrt(sx * sx + sy * sy + sz * sz) AS cz
    FROM cluster_sums
)
SELECT
    seed_source,
    $band AS seed_band,
    n_seed_obs,
    cx, cy, cz,
    fgcm_healpix_nest($match_order, degrees(atan2(cy, cx)), degrees(atan2(cz, sqrt(cx * cx + cy * cy))))
        AS mpix
FROM seed_vectors;
