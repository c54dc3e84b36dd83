-- stars_nobs_columns (result set): the per-band columns `nobs_{band}` that `stars` has now.
-- From: information_schema.columns. Grain: one row per column.
SELECT column_name
FROM information_schema.columns
WHERE table_name = 'stars' AND substr(column_name, 1, 5) = 'nobs_'
ORDER BY ordinal_position;
