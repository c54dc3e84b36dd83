-- match_seed_candidate_ids (result set): the seed-candidate observations in sourceId order, the
-- node list of the seed graph. From: match_seed_candidates. Grain: one row per observation.
SELECT sourceId
FROM match_seed_candidates
ORDER BY sourceId;
