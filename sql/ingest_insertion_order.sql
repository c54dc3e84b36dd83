-- ingest_insertion_order: session setting for ingest: whether inserts keep their input order
-- ($preserve). Off while `sources` is appended (DuckDB then appends in parallel, ~1.8x faster; the
-- row order of `sources` carries no meaning), on again before `observations`, whose rows are stored in
-- (visit, detector, sourceId) order so that identical inputs give identical tables.
SET preserve_insertion_order = $preserve
