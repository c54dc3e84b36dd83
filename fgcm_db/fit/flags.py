"""Flag bits of exposures, stars, observations and zero-points (FGCM_ALGORITHM.md 5.5, 5.7, 8.1)."""

from __future__ import annotations

# exposure (visit) flags; 0 = photometric
EXP_TOO_FEW_STARS = 1
EXP_GRAY_TOO_NEGATIVE = 2
EXP_VAR_GRAY_TOO_LARGE = 4
EXP_TOO_FEW_EXP_ON_NIGHT = 8
EXP_NO_STARS = 16
EXP_BAND_NOT_IN_LUT = 32
EXP_GRAY_TOO_POSITIVE = 128

#: flags that make a visit non-photometric but still calibratable by the gray crunch
EXP_NONPHOTOMETRIC = EXP_TOO_FEW_STARS | EXP_GRAY_TOO_NEGATIVE | EXP_VAR_GRAY_TOO_LARGE | EXP_GRAY_TOO_POSITIVE

# star flags; 0 = calibration star
STAR_TOO_FEW_OBS = 1
STAR_BAD_COLOR = 2
STAR_VARIABLE = 4
STAR_RESERVED = 16

# observation flags (per cycle, not stored)
OBS_BAD = 1
OBS_SUPERSTAR_OUTLIER = 4
OBS_FOCALPLANE_OUTLIER = 128

# zero-point flags
ZP_PHOTOMETRIC_FIT = 1
ZP_PHOTOMETRIC_NOTFIT = 2
ZP_NONPHOTOMETRIC_FIT_NIGHT = 4
ZP_NOFIT_NIGHT = 8
ZP_CANNOT_COMPUTE = 16
ZP_TOO_FEW_STARS_ON_CCD = 32
