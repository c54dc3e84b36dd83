"""Configuration of the `lut` stage (the `[lut]` section of a config file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class LutConfig:
    """Settings of the lut stage; every field documents its unit and default."""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
