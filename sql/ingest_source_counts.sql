-- ingest_source_counts: rows in `sources` per visit of the visit summary being ingested (`vs_visits`),
-- one row per visit that has sources; used to group visits into chunks for the selection.
SELECT s.visit, count(*) AS n_rows
FROM sources AS s
JOIN vs_visits AS v ON s.visit = v.visit
GROUP BY s.visit
ORDER BY s.visit
