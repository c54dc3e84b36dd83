-- ingest_duplicate_source: the first sourceId that occurs more than once in `sources` (after this
-- ingest's inserts), with two of the files and rows holding it; no row when every sourceId is unique.
WITH repeated AS (
    SELECT sourceId
    FROM sources
    GROUP BY sourceId
    HAVING count(*) > 1
    ORDER BY sourceId
    LIMIT 1
)
SELECT
    s.sourceId,
    min(s.source_file || ' row ' || s.source_row) AS first_place,
    max(s.source_file || ' row ' || s.source_row) AS second_place
FROM sources AS s
JOIN repeated AS r ON s.sourceId = r.sourceId
GROUP BY s.sourceId
