"""Configuration of the `fit` stage (the `[fit]` section of a config file).

Defaults follow fgcmcal's HSC production configuration (FGCMCAL_PIPELINE.md section 5, obs_subaru
``fgcmFitCycle.py``) where it has one, else the fgcm defaults (FGCM_ALGORITHM.md section 14). Per-band
values are a default plus an optional ``{band: value}`` override table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import FgcmDbError


@dataclasses.dataclass
class FitConfig:
    """Settings of the FGCM fit cycles; every field documents its unit and default."""

    #: bands calibrated; [] = every band present in ``visits``.
    bands: list[str] = dataclasses.field(default_factory=list)
    #: bands whose observations constrain the atmosphere (chi2); [] = all of ``bands``.
    fit_bands: list[str] = dataclasses.field(default_factory=list)
    #: a calibration star needs ``min_obs_per_band`` good observations in each of these bands;
    #: [] = in at least one band.
    required_bands: list[str] = dataclasses.field(default_factory=list)
    #: good observations per required band for a calibration star.
    min_obs_per_band: int = 2
    #: optimiser budget: chi2 + gradient evaluations per fitting cycle (HSC production: 150).
    max_iter: int = 50
    #: L-BFGS-B projected-gradient tolerance, and the step-unit scale (FGCM fitGradientTolerance).
    fit_gradient_tolerance: float = 1e-5
    #: fake uniform residual used to compute the step units, mag.
    step_unit_reference: float = 1e-4
    #: cycle 0 holds the atmosphere at the standard values and fits only the instrument terms.
    freeze_std_atmosphere_cycle0: bool = True
    #: cycles >= this start from the previous cycle's atmosphere instead of the standard one
    #: (FGCM_LESSONS.md 1: reset once, in cycle 1, then warm starts).
    warm_start_from_cycle: int = 2
    #: fraction of stars held out of the fit for validation (chosen by a hash of star_id).
    reserve_fraction: float = 0.10
    #: error floor added in quadrature to every observation error, mag.
    sigma0_phot: float = 0.003
    #: photometric visits in fit bands needed to fit a night's atmosphere (HSC: 3).
    min_exp_per_night: int = 3
    #: good stars needed for a visit to be photometric (HSC: 100).
    min_star_per_exp: int = 100
    #: good stars needed for a detector's own gray.
    min_star_per_ccd: int = 5
    #: good detectors needed to recover other detectors from the visit gray.
    min_ccd_per_exp: int = 5
    #: largest detector-gray error for a good detector, mag.
    max_ccd_gray_err: float = 0.05
    #: largest observation error (sigma, not variance: FGCM_ALGORITHM 15.5 fixed) used in grays, mag.
    ccd_gray_max_star_err: float = 0.10
    #: variable stars: a star whose photometric-visit light curve departs from a constant at this
    #: significance (Gaussian sigma, chi-square over its observations with sigma_FGCM added) in
    #: ``variable_min_bands`` bands is flagged VARIABLE from the next cycle on; 0 = no flagging (the
    #: reference's setting). See fgcm_db.fit.variability.
    variable_nsigma: float = 5.0
    #: bands in which a star must fail the variability test (at most the number of bands observed).
    variable_min_bands: int = 2
    #: cycle 0: observations within this of a star's brightest one form its initial mean, mag.
    bright_obs_gray_max: float = 0.15
    #: cycle 0: visits with an initial exposure gray below this are not photometric, mag.
    exp_gray_initial_cut: float = -0.25
    #: most negative exposure gray still photometric, mag (HSC: -0.05); per-band overrides below.
    exp_gray_photometric_cut: float = -0.05
    exp_gray_photometric_cut_per_band: dict[str, float] = dataclasses.field(default_factory=dict)
    #: most positive exposure gray still photometric, mag (HSC: 0.2).
    exp_gray_high_cut: float = 0.2
    exp_gray_high_cut_per_band: dict[str, float] = dataclasses.field(default_factory=dict)
    #: largest variance of the detector grays across the focal plane, mag^2 (HSC broad bands).
    exp_var_gray_photometric_cut: float = 0.0025
    exp_var_gray_photometric_cut_per_band: dict[str, float] = dataclasses.field(default_factory=dict)
    #: gray term of photometric visits' zero-points: "exposure" (the visit's exposure gray on every
    #: detector; FGCM_ALGORITHM.md 15.7), "detector" (each detector's own gray, as the reference), or
    #: "blend", the default (the exposure gray plus each good detector's departure from it, shrunk by
    #: var / (var + err^2): the best linear predictor, fgcm_db.fit.zeropoints.compose; README, The FGCM fit).
    photometric_zeropoint_gray: str = "blend"
    #: the exposure gray that photometric visits (with "exposure" or "blend" above) and recovered detectors take:
    #: a polynomial of this order in the detector centres' focal-plane position, fitted per visit to its
    #: good detector grays where it beats a constant (fgcm_db.fit.surface); 0 = one constant per visit
    #: (the reference, and the default: see README, The FGCM fit, for what 1 gives and costs).
    exposure_gray_surface_order: int = 0
    #: recovered detectors need an exposure gray above this, mag.
    exp_gray_recover_cut: float = -1.0
    #: ... and an exposure-gray error below this, mag.
    exp_gray_err_recover_cut: float = 0.05
    #: automatic cut update: low cut at -(n sigma - mu), high at n sigma + mu, in steps of ... mag.
    auto_photometric_cut_nsig: float = 3.0
    auto_high_cut_nsig: float = 4.0
    auto_photometric_cut_step: float = 0.0025
    #: use the reserved stars' repeatability (mu = 0) instead of the exposure-gray histogram width.
    use_repeatability_for_exp_gray_cuts: bool = False
    #: automatic variance cut: (median + n x 1.4826 MAD)^2 of the photometric visits' focal-plane rms.
    auto_var_cut_nsig: float = 4.0
    #: per-visit cloud terms in the fit (fgcm_db.fit.chisq.Chisq, cloud_threshold), mag: a visit of the
    #: photometric set whose stars are fainter than the model by more than this on average takes a gray
    #: term for the excess, so a cloud the selection missed cannot pull its night's atmosphere by more
    #: than this; 0 = none (the reference). See README, The FGCM fit.
    cloud_term_threshold: float = 0.0
    #: the automatic cuts may only tighten from cycle to cycle (FGCM_LESSONS.md 1).
    cuts_only_tighten: bool = True
    #: stars for sigma_FGCM and repeatability: observation error below this, mag.
    sig_fgcm_max_err: float = 0.01
    #: ... and |<m_std> - m_std| below this, mag.
    sig_fgcm_max_egray: float = 0.05
    #: search range of the systematic floor sigma_cal, mag.
    sigma_cal_range: list[float] = dataclasses.field(default_factory=lambda: [0.001, 0.003])
    #: magnitude percentiles (0..1) of the stars used to choose sigma_cal.
    sigma_cal_fit_percentile: list[float] = dataclasses.field(default_factory=lambda: [0.05, 0.15])
    #: MJD boundaries of mirror washes (QE_sys intervals); [] = one interval.
    wash_mjds: list[float] = dataclasses.field(default_factory=list)
    #: MJD boundaries of flat-field epochs (separate superstar flats); [] = one epoch.
    epoch_mjds: list[float] = dataclasses.field(default_factory=list)
    #: fit the QE_sys slope (mag/day) of every wash interval jointly with the atmosphere.
    fit_qe_slope: bool = True
    #: superstar: per (epoch, filter, detector) outlier clip, in units of 1.4826 MAD.
    superstar_sigma_clip: float = 5.0
    #: superstar: re-estimations inside a cycle (each with the star means recomputed), to converge the
    #: per-detector offsets jointly (FGCM_LESSONS.md 3); 1 = the reference's one estimate per cycle.
    superstar_iterations: int = 10
    #: order of the sub-detector superstar: a 2-D Chebyshev polynomial per (epoch, filter, detector) in
    #: the detector's pixel coordinates, estimated from the photometric residuals after each fit and
    #: applied per observation in the next cycle (FGCM_ALGORITHM.md 3.5); 0 = a constant per detector.
    #: fgcm's default is 1, HSC production uses 2.
    superstar_sub_ccd_order: int = 1
    #: fit only the terms T_i(u) T_j(v) with i + j <= order (fgcm's "triangular" option).
    superstar_sub_ccd_triangular: bool = False
    #: per-visit outlier clip of star residuals, in units of 1.4826 MAD.
    focal_plane_sigma_clip: float = 4.0
    #: fit the aperture correction (slope and curvature in the visit's median delta-aperture, per
    #: band) jointly with the atmosphere; false: hold the input slopes.
    aper_corr_fit: bool = True
    #: observations whose delta-aperture error exceeds this do not enter the visit's median, mag.
    aper_corr_max_err: float = 0.02
    #: aperture correction slopes (start values, or fixed when not fitted), mag per mag of delta-aperture.
    aper_corr_input_slopes: dict[str, float] = dataclasses.field(default_factory=dict)
    #: chromatic correction on (off only to show what it does).
    chromatic_correction: bool = True
    #: fit an I10 offset per (physical filter, detector): the CCD chromaticity of FGCM_ALGORITHM.md 1.8,
    #: which absorbs per-detector passband shifts that the look-up table does not know.
    fit_ccd_chromaticity: bool = True
    #: width of the Gaussian prior (centred on 0) on each CCD-chromaticity I10 offset, nm; 0 = none.
    ccd_chromaticity_prior_nm: float = 1.0
    #: SED slope rules: band -> boundary terms, e.g. {"r": ["g-r", "r-i"]}; [] default = the adjacent
    #: boundaries (edge bands: the two nearest).
    sed_terms: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    #: SED slope coefficients per band, one per boundary term of the rule, optionally followed by a
    #: constant (1/nm); {} = derived by least squares from the LUT's standard passbands and a stellar
    #: library (FGCM_LESSONS.md 4).
    sed_coefficients: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    #: the stellar library the coefficients are derived from: a directory of Pickles-format ``*.sed``
    #: spectra (Angstrom, F_lambda; e.g. Pickles 1998) whose mix resembles the survey's stars; "" = the
    #: built-in stellar model (3000-12000 K dwarfs).
    sed_library: str = ""
    #: derived rules get a constant term besides the boundary terms (an addition to the reference);
    #: unset = on with a ``sed_library``, off with the built-in model. With real spectra it helps: on
    #: Pickles spectra held out of the derivation, g slopes follow a 1 nm shift to 0.78 mmag rms instead
    #: of 1.10 (blue stars 0.25 instead of 1.1); derived from the built-in model, real G/K stars' g slopes
    #: get worse (0.46 -> 0.97 mmag), the constant carrying the model's mismatch (README, The FGCM fit).
    sed_intercept: bool | None = None
    #: colour cuts: "g-i" -> [low, high] mag; stars outside are not calibration stars.
    star_color_cuts: dict[str, list[float]] = dataclasses.field(
        default_factory=lambda: {"g-r": [-0.25, 2.25], "r-i": [-0.50, 2.25], "i-z": [-0.50, 1.00],
                                 "g-i": [0.0, 3.5]})
    #: tract-loop convergence: largest repeatability improvement still "converged", mag.
    convergence_tolerance: float = 0.005
    #: seed of the named random stream (histogram bootstrap); star reservation is a hash of star_id.
    random_seed: int = 12345

    def sed_intercept_used(self) -> bool:
        """Whether derived SED rules get a constant term (``sed_intercept``, unset: with a library)."""
        return bool(self.sed_library) if self.sed_intercept is None else self.sed_intercept

    def cut(self, name: str, band: str) -> float:
        """Per-band value of ``exp_gray_photometric_cut``, ``exp_gray_high_cut`` or ``exp_var_gray_photometric_cut``."""
        return float(getattr(self, name + "_per_band").get(band, getattr(self, name)))

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
        def need(ok: bool, field: str, what: str) -> None:
            if not ok:
                raise FgcmDbError(f"[fit] {field} = {getattr(self, field)!r}: {what}")

        need(self.min_obs_per_band >= 1, "min_obs_per_band", "must be >= 1")
        need(not self.sed_library or Path(self.sed_library).is_dir(), "sed_library",
             "must be a directory of Pickles-format *.sed spectra (or \"\" for the built-in stellar model)")
        need(self.max_iter >= 0, "max_iter", "must be >= 0")
        need(self.fit_gradient_tolerance > 0, "fit_gradient_tolerance", "must be > 0")
        need(self.step_unit_reference > 0, "step_unit_reference", "must be > 0")
        need(0.0 <= self.reserve_fraction < 1.0, "reserve_fraction", "must be in [0, 1)")
        need(self.sigma0_phot >= 0, "sigma0_phot", "must be >= 0")
        need(self.cloud_term_threshold >= 0, "cloud_term_threshold", "must be >= 0 (0 = no cloud terms)")
        need(self.exp_gray_photometric_cut < 0, "exp_gray_photometric_cut", "must be negative")
        need(self.exp_gray_high_cut > 0, "exp_gray_high_cut", "must be positive")
        need(all(v < 0 for v in self.exp_gray_photometric_cut_per_band.values()),
             "exp_gray_photometric_cut_per_band", "values must be negative")
        need(all(v > 0 for v in self.exp_gray_high_cut_per_band.values()),
             "exp_gray_high_cut_per_band", "values must be positive")
        need(self.exp_var_gray_photometric_cut > 0, "exp_var_gray_photometric_cut", "must be > 0")
        need(len(self.sigma_cal_range) == 2 and 0 < self.sigma_cal_range[0] <= self.sigma_cal_range[1],
             "sigma_cal_range", "must be [low, high] with 0 < low <= high")
        need(len(self.sigma_cal_fit_percentile) == 2
             and 0 <= self.sigma_cal_fit_percentile[0] < self.sigma_cal_fit_percentile[1] <= 1,
             "sigma_cal_fit_percentile", "must be [low, high] within 0..1")
        need(list(self.wash_mjds) == sorted(self.wash_mjds), "wash_mjds", "must be sorted")
        need(list(self.epoch_mjds) == sorted(self.epoch_mjds), "epoch_mjds", "must be sorted")
        need(self.photometric_zeropoint_gray in ("exposure", "detector", "blend"), "photometric_zeropoint_gray",
             "must be 'exposure', 'detector' or 'blend'")
        need(0 <= self.exposure_gray_surface_order <= 3, "exposure_gray_surface_order", "must be 0..3")
        need(self.superstar_iterations >= 1, "superstar_iterations", "must be >= 1")
        need(0 <= self.superstar_sub_ccd_order <= 4, "superstar_sub_ccd_order", "must be 0..4")
        need(self.variable_nsigma >= 0, "variable_nsigma", "must be >= 0 (0 = no flagging)")
        need(self.variable_min_bands >= 1, "variable_min_bands", "must be >= 1")
        need(self.min_star_per_ccd >= 3, "min_star_per_ccd", "must be >= 3")
        for band, terms in self.sed_terms.items():
            need(all(t.count("-") == 1 for t in terms), "sed_terms", f"band {band}: terms are band pairs like 'g-r'")
        for band, coeffs in self.sed_coefficients.items():
            need(band in self.sed_terms and len(coeffs) in (len(self.sed_terms[band]), len(self.sed_terms[band]) + 1),
                 "sed_coefficients", f"band {band}: give sed_terms for it with one coefficient per term "
                 "(and optionally a constant last)")
        for colour, lim in self.star_color_cuts.items():
            need("-" in colour and len(lim) == 2 and lim[0] < lim[1], "star_color_cuts",
                 f"{colour}: keys are 'b1-b2', values [low, high]")
