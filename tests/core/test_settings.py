from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from osuite.core.settings import ProgramSettings, SettingsError, load_settings


class ExampleSettings(ProgramSettings):
    program: ClassVar[str] = "example"
    default_port: ClassVar[int] = 8123

    flavour: str = "plain"


class OtherSettings(ProgramSettings):
    program: ClassVar[str] = "other"
    default_port: ClassVar[int] = 8456


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.upper().startswith("OSUITE_"):
            monkeypatch.delenv(name)


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "example.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_come_from_the_program() -> None:
    for settings in (ExampleSettings(), load_settings(ExampleSettings)):
        assert isinstance(settings, ExampleSettings)
        assert settings.port == 8123
        assert settings.host == "127.0.0.1"
        assert settings.data_dir == Path("var/example")
        assert settings.database_url == "sqlite:///var/example/example.db"
        assert settings.flavour == "plain"
    other = load_settings(OtherSettings)
    assert (other.port, other.data_dir) == (8456, Path("var/other"))
    assert other.database_url == "sqlite:///var/other/other.db"


def test_the_database_lives_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(ExampleSettings, data_dir=tmp_path / "data")
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'example.db'}"


def test_values_from_the_file(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        f'port = 9001\nflavour = "spicy"\ndata_dir = "{tmp_path / "d"}"\nlog_level = "debug"\n',
    )
    settings = load_settings(ExampleSettings, config)
    assert settings.port == 9001
    assert settings.flavour == "spicy"
    assert settings.data_dir == tmp_path / "d"
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'example.db'}"
    assert settings.log_level == "debug"
    assert settings.host == "127.0.0.1"


def test_an_explicit_database_url_is_kept(tmp_path: Path) -> None:
    url = "postgresql://shop@localhost/example"
    settings = load_settings(ExampleSettings, _config(tmp_path, f'database_url = "{url}"\n'))
    assert settings.database_url == url


def test_the_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSUITE_EXAMPLE_PORT", "9002")
    settings = load_settings(ExampleSettings, _config(tmp_path, 'port = 9001\nflavour = "spicy"\n'))
    assert settings.port == 9002
    assert settings.flavour == "spicy"


def test_the_environment_needs_the_programs_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSUITE_EXAMPLE_PORT", "9002")
    monkeypatch.setenv("PORT", "9003")
    assert load_settings(OtherSettings).port == 8456
    assert load_settings(ExampleSettings).port == 9002


def test_explicit_overrides_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSUITE_EXAMPLE_PORT", "9002")
    monkeypatch.setenv("OSUITE_EXAMPLE_FLAVOUR", "salty")
    config = _config(tmp_path, 'port = 9001\nflavour = "spicy"\n')
    settings = load_settings(ExampleSettings, config, port=9003, flavour=None)
    assert settings.port == 9003
    assert settings.flavour == "salty"  # an option not given leaves the environment in charge


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(ExampleSettings, _config(tmp_path, "port = \n"))


def test_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="colour"):
        load_settings(ExampleSettings, _config(tmp_path, 'colour = "red"\n'))


def test_bad_type_in_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"example.*port"):
        load_settings(ExampleSettings, _config(tmp_path, 'port = "eighty"\n'))


def test_bad_type_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSUITE_EXAMPLE_PORT", "eighty")
    with pytest.raises(SettingsError, match="port"):
        load_settings(ExampleSettings)


def test_bad_type_in_an_override_is_named() -> None:
    with pytest.raises(SettingsError, match="port"):
        load_settings(ExampleSettings, port="eighty")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(ExampleSettings, tmp_path / "nowhere.toml")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(ExampleSettings, tmp_path)  # a directory
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfeport = 1\n")
    with pytest.raises(SettingsError, match="not UTF-8"):
        load_settings(ExampleSettings, binary)
