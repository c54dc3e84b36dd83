-- Session setting for build-stars: DuckDB's memory limit ($memory_limit, e.g. '3GB'); larger
-- intermediate results spill to the database's temporary directory.
SET memory_limit = $memory_limit;
