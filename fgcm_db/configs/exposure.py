"""Configuration of the `exposure` stage (the `[exposure]` section of a config file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class ExposureConfig:
    """Settings of the exposure stage; every field documents its unit and default."""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
