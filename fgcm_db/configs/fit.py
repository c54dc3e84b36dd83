"""Configuration of the `fit` stage (the `[fit]` section of a config file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class FitConfig:
    """Settings of the fit stage; every field documents its unit and default."""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
