"""Single-exposure calibration (`fgcm-db calibrate-exposure`): read an LSST-layout exposure, detect and
measure sources, fit a TAN-SIP WCS and a photometric zero-point against a reference catalog."""
