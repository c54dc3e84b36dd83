"""Configuration of the `stars` stage (the `[stars]` section of a config file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class StarsConfig:
    """Settings of the stars stage; every field documents its unit and default."""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
