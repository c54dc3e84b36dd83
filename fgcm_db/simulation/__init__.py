"""Parts of the survey simulator behind ``fgcm-db simulate`` (orchestrated by :mod:`fgcm_db.simulate`).

Each module has one job: ``presets`` (survey sizes), ``survey`` (nights, visits, pointings, detector
look-up), ``seds`` (stellar spectra: built-in model and Pickles reader), ``objects`` (star and galaxy
populations), ``weather`` (atmosphere parameters and clouds), ``instrument`` (true per-detector
throughput and gray instrument terms), ``integrate`` (spectra through passbands), ``measure``
(apertures, noise, flags, detection), ``refcat`` (a PS1-like reference catalogue), ``truth`` (true
calibration and standard magnitudes) and ``writer`` (the CONTRACT.md files).
"""
