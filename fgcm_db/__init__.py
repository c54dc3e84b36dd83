"""fgcm-db: photometric calibration of imaging surveys with FGCM, on one DuckDB file."""

__version__ = "0.1.0"
