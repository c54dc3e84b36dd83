-- tract_visit_boresights: boresight of every visit (one row per visit, ordered by visit), from visits; a
-- visit pointed inside a tract region belongs to the tract even without calibration stars.
SELECT
    visit,
    boresight_ra,
    boresight_dec
FROM visits
ORDER BY visit
