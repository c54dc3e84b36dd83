"""Per-stage configuration sections; assembled by :mod:`fgcm_db.config`."""
