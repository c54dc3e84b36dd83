-- ingest_count_observations: number of `observations` rows of the visits being ingested (`vs_visits`).
SELECT count(*) AS n
FROM observations
WHERE visit IN (SELECT visit FROM vs_visits)
