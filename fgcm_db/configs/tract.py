"""Configuration of the `tract` stage (the `[tract]` section of a config file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class TractConfig:
    """Settings of the tract stage; every field documents its unit and default."""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
