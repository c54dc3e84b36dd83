-- 0011_fit_cloud: the per-visit cloud term of the cycle's fit (fgcm_db/fit/chisq.py, Chisq
-- cloud_threshold): how much of a visit's faintness the fit attributed to cloud instead of to its night's
-- atmosphere. Diagnostic only: zero-points and grays are computed without it.

ALTER TABLE exp_gray ADD COLUMN fit_cloud DOUBLE;
COMMENT ON COLUMN exp_gray.fit_cloud IS 'cloud term the fit gave this visit (<= 0; 0 = none, or not in the fit set, or fit.cloud_term_threshold = 0): the part of its stars'' mean residual beyond the threshold, which the nightly atmosphere was not asked to explain [mag]';
