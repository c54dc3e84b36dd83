-- ingest_unknown_detectors: detectors that sources of the ingested visits (`vs_visits`) name but the
-- `detectors` table (the camera) lacks; one row per such detector with its source count.
SELECT s.detector, count(*) AS n_rows
FROM sources AS s
JOIN vs_visits AS v ON s.visit = v.visit
ANTI JOIN detectors AS d ON s.detector = d.detector
GROUP BY s.detector
ORDER BY s.detector
