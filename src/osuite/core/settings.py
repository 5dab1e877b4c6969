"""Settings of a program: safe defaults, then a TOML file, then ``OSUITE_<PROGRAM>_…`` variables.

Every program subclasses :class:`ProgramSettings`; ``osuite <program> serve`` runs with no file and no
variable at all. Command-line options win over everything.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

S = TypeVar("S", bound="ProgramSettings")


class SettingsError(ValueError):
    """A configuration that cannot be used; the message says which setting and why."""


class ProgramSettings(BaseSettings):
    """What every program has: where it listens, where its data lives, which database it uses."""

    model_config = SettingsConfigDict(extra="forbid", env_nested_delimiter="__")

    program: ClassVar[str] = "program"
    default_port: ClassVar[int] = 8000

    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path = Path("var")
    database_url: str = ""
    log_level: str = "info"
    license_url: str = ""
    """The store's license server (`osuite license serve`); empty: this program asks for no seat."""
    license_public_key: str = ""
    """The vendor's public key (a PEM file's path, or the key in base64) the license file is checked
    with; empty: the license server's word is taken."""

    def model_post_init(self, context: Any, /) -> None:
        if self.port == 0:
            self.port = self.default_port
        if self.data_dir == Path("var"):
            self.data_dir = Path("var") / self.program
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / (self.program + '.db')}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only explicit values here; load_settings adds the file and the prefixed environment.
        return (init_settings,)


def load_settings(cls: type[S], config_file: Path | None = None, **overrides: Any) -> S:
    """Build settings from the file (if any), the environment and explicit overrides (CLI options).

    The file's keys are the setting names (``port = 8701``); ``None`` overrides are ignored so that an
    option the user did not give leaves the file or environment in charge.
    """
    from_file: dict[str, Any] = {}
    if config_file is not None:
        try:
            from_file = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file {config_file} does not exist") from None
        except OSError as exc:  # a directory, no permission…
            raise SettingsError(f"config file {config_file} cannot be read: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise SettingsError(f"config file {config_file} is not UTF-8 text: {exc.reason}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from None
    given = {k: v for k, v in overrides.items() if v is not None}
    prefix = f"OSUITE_{cls.program.upper()}_"

    class _Configured(cls):  # type: ignore[valid-type,misc]
        model_config = SettingsConfigDict(env_prefix=prefix, extra="forbid", env_nested_delimiter="__")

        @classmethod
        def settings_customise_sources(
            cls_,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _DictSource(settings_cls, from_file))

    try:
        configured = _Configured(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings for {cls.program}: {problems}") from None
    return cls.model_validate(configured.model_dump())


class _DictSource(PydanticBaseSettingsSource):
    """Values read from the TOML file, below the environment in priority."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)
