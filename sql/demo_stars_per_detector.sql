-- demo_stars_per_detector: the (visit, detector) pairs with at least $min_stars good calibration-star
-- observations (stars without the too-few-observations / bad-colour / reserved flags 1, 2, 16 in the final
-- cycle of the latest calibrate-tract run: the stars the grays use; observation error <= $max_err mag),
-- one row per pair, from star_obs, observations, star_flags and tract_summary.
WITH latest AS (
    SELECT
        run_id,
        max(final_cycle) AS final_cycle
    FROM tract_summary
    WHERE run_id = (SELECT max(run_id) FROM tract_summary)
    GROUP BY run_id
)
SELECT
    so.visit,
    so.detector
FROM star_obs AS so
JOIN observations AS o
    ON o.sourceId = so.sourceId AND o.visit = so.visit
JOIN star_flags AS f
    ON f.star_id = so.star_id
JOIN latest AS l
    ON l.run_id = f.run_id AND l.final_cycle = f.cycle
WHERE (f.flag & 19) = 0
  AND o.inst_mag_err <= $max_err
GROUP BY so.visit, so.detector
HAVING count(*) >= $min_stars
ORDER BY so.visit, so.detector
