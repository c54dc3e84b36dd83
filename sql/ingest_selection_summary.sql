-- ingest_selection_summary: appends to `selection_summary` one row per ingested visit with sources,
-- from the verdicts of `source_verdicts` (ingest_source_verdicts.sql): rows in, rows rejected per
-- reason (a row rejected for several reasons counts in each), rows kept (no reason).
INSERT INTO selection_summary (
    visit, n_in, n_flagged, n_extended, n_low_sn, n_high_sn, n_blended, n_sky, n_bad_coord,
    n_bad_background, n_kept, run_id
)
SELECT
    visit,
    count(*) AS n_in,
    count(*) FILTER (WHERE is_flagged) AS n_flagged,
    count(*) FILTER (WHERE is_extended) AS n_extended,
    count(*) FILTER (WHERE is_low_sn) AS n_low_sn,
    count(*) FILTER (WHERE is_high_sn) AS n_high_sn,
    count(*) FILTER (WHERE is_blended) AS n_blended,
    count(*) FILTER (WHERE is_sky) AS n_sky,
    count(*) FILTER (WHERE is_bad_coord) AS n_bad_coord,
    count(*) FILTER (WHERE is_bad_background) AS n_bad_background,
    count(*) FILTER (WHERE NOT (is_flagged OR is_extended OR is_low_sn OR is_high_sn OR is_blended
                                OR is_sky OR is_bad_coord OR is_bad_background)) AS n_kept,
    $run_id AS run_id
FROM source_verdicts
GROUP BY visit
