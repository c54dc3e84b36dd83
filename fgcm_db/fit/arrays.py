"""Memory-lean helpers for the fit's per-observation arrays (10^7 observations: 80 MB per float64)."""

from __future__ import annotations

import numpy as np


def compact_index(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` (indices 0..n-1) in the smallest signed integer type that holds ``n``.

    Fancy indexing and ``np.bincount`` accept any integer type, so a band or wash index per
    observation can take 1 byte instead of 8. Returns ``values`` itself when its type already fits.
    """
    return np.asarray(values).astype(np.min_scalar_type(-max(int(n), 1)), copy=False)
