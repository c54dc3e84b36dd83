"""Typed failures of `calibrate-exposure`, each carrying machine-readable diagnostics.

Input problems are :class:`InputError` (exit status 2). A calibration that could not be made is an
:class:`AstrometryError` (:class:`MatcherFailure`, :class:`BadAstrometryFit`) or a
:class:`PhotoCalError` (exit status 3); its ``diagnostics`` dict (numbers and strings only) is stored
in ``exposure_calibration.status_detail``.
"""

from __future__ import annotations

from typing import Any

from ..errors import CalibrationError, FgcmDbError


class InputError(FgcmDbError):
    """A file, header, column or option is unusable (exit status 2)."""


class _DiagnosedError(CalibrationError):
    def __init__(self, message: str, diagnostics: dict[str, Any] | None = None):
        super().__init__(message)
        self.diagnostics = {k: v for k, v in (diagnostics or {}).items()
                            if isinstance(v, (int, float, str, bool)) or v is None}


class AstrometryError(_DiagnosedError):
    """The astrometric calibration failed (exit status 3)."""


class MatcherFailure(AstrometryError):
    """No trustworthy match between sources and references was found."""


class BadAstrometryFit(AstrometryError):
    """A WCS was fitted but fails a quality gate (distance, scatter, coverage, limits)."""


class PhotoCalError(_DiagnosedError):
    """The photometric zero-point could not be determined (exit status 3)."""
