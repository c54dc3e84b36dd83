-- Counts the ingested detectors (0 = no camera geometry in the database yet).
SELECT count(*) AS n FROM detectors
