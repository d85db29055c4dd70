"""Settings: the time windows of DESIGN §4 are not settings any more (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ConfigurationError
from ledger.settings import Settings


@pytest.mark.parametrize(
    "variable",
    ["LEDGER_FUTURE_SKEW_SECONDS", "LEDGER_OUT_OF_ORDER_SECONDS", "LEDGER_RECORDED_LATE_HOURS"],
)
def test_a_time_window_still_set_in_the_environment_is_refused_naming_it(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "3600")
    with pytest.raises(ConfigurationError) as raised:
        Settings.load(tmp_path)
    assert variable in str(raised.value)
    assert "genesis" in str(raised.value)


def test_a_time_window_still_set_in_ledger_toml_is_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "ledger.toml").write_text("recorded_late_hours = 48\n", "utf-8")
    with pytest.raises(ConfigurationError) as raised:
        Settings.load(tmp_path)
    assert f"recorded_late_hours in {tmp_path / 'ledger.toml'}" in str(raised.value)


def test_settings_without_time_windows_load_as_before(tmp_path: Path) -> None:
    (tmp_path / "ledger.toml").write_text("port = 8123\n", "utf-8")
    assert Settings.load(tmp_path).port == 8123
