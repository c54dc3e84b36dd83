"""One typed configuration for every stage, with documented defaults and TOML overrides.

The configuration is a :class:`Config` of sections, one per stage (``[ingest]``, ``[lut]``,
``[stars]``, ``[fit]``, ``[tract]``, ``[exposure]``, ``[simulate]``); each section is a dataclass in
``fgcm_db/configs/`` whose fields carry their unit and meaning. A TOML file overrides any field::

    [fit]
    max_iter = 150

Unknown sections or keys, and values of the wrong type, fail at once with the key named; then every
section's ``validate()`` runs, so a bad config fails in the first second, before any work.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from .configs.exposure import ExposureConfig
from .configs.fit import FitConfig
from .configs.ingest import IngestConfig
from .configs.lut import LutConfig
from .configs.simulate import SimulateConfig
from .configs.stars import StarsConfig
from .configs.tract import TractConfig
from .errors import FgcmDbError


@dataclasses.dataclass
class Config:
    """All configuration, one section per stage."""

    ingest: IngestConfig = dataclasses.field(default_factory=IngestConfig)
    lut: LutConfig = dataclasses.field(default_factory=LutConfig)
    stars: StarsConfig = dataclasses.field(default_factory=StarsConfig)
    fit: FitConfig = dataclasses.field(default_factory=FitConfig)
    tract: TractConfig = dataclasses.field(default_factory=TractConfig)
    exposure: ExposureConfig = dataclasses.field(default_factory=ExposureConfig)
    simulate: SimulateConfig = dataclasses.field(default_factory=SimulateConfig)

    def validate(self) -> None:
        """Validate every section (raises FgcmDbError naming the field)."""
        for f in dataclasses.fields(self):
            section = getattr(self, f.name)
            if hasattr(section, "validate"):
                section.validate()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable) for the ``runs`` table."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the TOML file ``path`` (if given), then ``overrides`` ({section: {key: value}}).

    Raises
    ------
    FgcmDbError
        Missing or unparsable file, unknown section or key, wrong type, or a failed validation.
    """
    data: dict[str, Any] = {}
    where = "configuration"
    if path is not None:
        path = Path(path)
        where = str(path)
        if not path.is_file():
            raise FgcmDbError(f"config file {path} does not exist")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise FgcmDbError(f"config file {path} is not valid TOML: {exc}") from None
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    config = _build(Config, data, where, "")
    config.validate()
    return config


def _build(cls: type, data: dict[str, Any], where: str, prefix: str):
    if not isinstance(data, dict):
        raise FgcmDbError(f"{where}: [{prefix.rstrip('.')}] must be a table of keys")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise FgcmDbError(
            f"{where}: unknown key(s) {', '.join(prefix + u for u in unknown)}; "
            f"known: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, where, prefix + name)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where, key + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where, key)
            except FgcmDbError as exc:
                errors.append(str(exc))
        raise FgcmDbError(errors[0] if errors else f"{where}: {key} has an invalid value {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise FgcmDbError(f"{where}: {key} must be a list, got {value!r}")
        item = args[0] if args else Any
        items = [_coerce(item, v, where, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise FgcmDbError(f"{where}: {key} must be a table, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _coerce(vt, v, where, f"{key}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FgcmDbError(f"{where}: {key} must be a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FgcmDbError(f"{where}: {key} must be an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise FgcmDbError(f"{where}: {key} must be true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise FgcmDbError(f"{where}: {key} must be a string, got {value!r}")
        return value
    return value
