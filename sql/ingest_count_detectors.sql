-- ingest_count_detectors: number of rows in `detectors` (0 when no camera was loaded yet).
SELECT count(*) AS n FROM detectors
