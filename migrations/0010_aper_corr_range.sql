-- 0010_aper_corr_range: fit_params rows aper_corr_range_low / aper_corr_range_high per band, the range of
-- delta-aperture offsets (from aper_corr_pivot) among the visits whose fit set the aperture curvature;
-- outside it the correction continues along its tangent (fgcm_db/fit/model.py, aperture_curvature_feature).

COMMENT ON COLUMN fit_params.param IS 'parameter name: o3 [Dobson], alpha [1], ln_pwv_intercept [ln mm], ln_pwv_slope [1/day], ln_tau_intercept [ln 1], ln_tau_slope [1/day], qe_sys_intercept [mag], qe_sys_slope [mag/day], filter_offset [mag], aper_corr_slope [mag per mag of visits.delta_aper], aper_corr_curvature [mag per mag^2], aper_corr_pivot [mag of delta_aper], aper_corr_range_low and aper_corr_range_high [mag of delta_aper minus the pivot: the curvature acts inside this range, the correction is linear beyond it], ccd_chromaticity [nm, I10 offset of the detector passband, focal-plane mean 0]';
