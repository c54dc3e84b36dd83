"""Configuration of the `ingest` stage (the `[ingest]` section of a config file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class IngestConfig:
    """Settings of the ingest stage; every field documents its unit and default."""

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
