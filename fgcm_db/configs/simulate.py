"""Configuration of the `simulate` stage (the `[simulate]` section of a config file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class SimulateConfig:
    """Settings of the simulate stage; every field documents its unit and default."""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
