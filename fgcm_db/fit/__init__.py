"""The FGCM fit: forward model, profiled chi-square with analytic gradient, gray terms, superstar,
sigma terms and zero-points (FGCM_ALGORITHM.md sections 1-8). ``cycle.py`` runs one cycle."""
