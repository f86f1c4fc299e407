"""Settings: environment parsing, one-line errors naming the variable, unsafe configs refused, and
a README that lists every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from common.settings import Settings, SettingsError, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_serve_on_loopback_with_data_under_var() -> None:
    settings = load_settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.data_dir == Path("var")
    assert settings.db_path == Path("var/kura.db")
    assert settings.metrics_db_path == Path("var/metrics.db")
    assert settings.backups_path == Path("var/backups")


def test_systemd_state_directory_becomes_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/kura:/var/lib/other")
    assert load_settings().data_dir == Path("/var/lib/kura")


def test_environment_variables_with_the_kura_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KURA_PORT", "9001")
    monkeypatch.setenv("KURA_SQLITE_SYNCHRONOUS", "FULL")
    monkeypatch.setenv("KURA_DATABASE_PATH", "/srv/k.db")
    monkeypatch.setenv("KURA_MAIL_TO", "a@example.org, b@example.org,")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.sqlite_synchronous == "FULL"
    assert settings.db_path == Path("/srv/k.db")
    assert settings.mail_to == ["a@example.org", "b@example.org"]


def test_mail_counts_as_configured_only_with_a_host_and_recipients() -> None:
    assert not load_settings().mail_configured
    assert not load_settings(smtp_host="localhost").mail_configured
    assert load_settings(smtp_host="localhost", mail_to="ops@example.org").mail_configured


@pytest.mark.parametrize(
    ("variable", "value"),
    [("KURA_PORT", "seventy"), ("KURA_PORT", "70000"), ("KURA_SQLITE_SYNCHRONOUS", "OFF"),
     ("KURA_LOG_LEVEL", "LOUD"), ("KURA_MAX_BODY_BYTES", "10")],
)
def test_a_bad_variable_gives_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"invalid configuration: {variable}: ")


def test_a_public_bind_needs_an_explicit_confirmation() -> None:
    with pytest.raises(SettingsError, match="KURA_HOST=0.0.0.0 exposes the API.*KURA_ALLOW_PUBLIC_BIND"):
        load_settings(host="0.0.0.0")
    assert load_settings(host="0.0.0.0", allow_public_bind=True).host == "0.0.0.0"
    assert load_settings(host="::1").host == "::1"
    assert load_settings(host="localhost").host == "localhost"


def test_a_password_is_never_sent_in_clear_text_to_another_host() -> None:
    with pytest.raises(SettingsError, match="KURA_SMTP_PASSWORD would be sent in clear text"):
        load_settings(smtp_host="mail.example.org", smtp_security="none", smtp_password="secret")
    local = load_settings(smtp_host="127.0.0.1", smtp_security="none", smtp_password="secret")
    assert local.smtp_password == "secret"


def test_the_critical_disk_threshold_cannot_exceed_the_warning_one() -> None:
    with pytest.raises(SettingsError, match="KURA_ALERT_DISK_FREE_CRITICAL_PERCENT"):
        load_settings(alert_disk_free_percent=5, alert_disk_free_critical_percent=10)


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.port = 1  # type: ignore[misc]


def readme_variables() -> dict[str, str]:
    """`KURA_NAME` -> its table row, from the README's configuration section."""
    text = README.read_text()
    section = text.split("<!-- section: configuration -->")[1].split("<!-- end: configuration -->")[0]
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `(KURA_[A-Z0-9_]+)` \|.*$", section, re.M)}


def test_every_setting_is_documented_in_the_readme_table() -> None:
    documented = readme_variables()
    expected = {f"KURA_{name.upper()}" for name in Settings.model_fields}
    assert sorted(expected - set(documented)) == [], "add these to the README configuration table"
    assert sorted(set(documented) - expected) == [], "the README lists variables that do not exist"


def test_the_readme_shows_each_settings_default() -> None:
    rows = readme_variables()
    for name, field in Settings.model_fields.items():
        if field.default_factory is None and field.default not in (None, ""):
            default = field.default
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            assert f"`{shown}`" in rows[f"KURA_{name.upper()}"], f"KURA_{name.upper()} should show `{shown}`"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = README.read_text()
    block = readme.split("## Run the tests")[1].split("```sh\n")[1].split("\n```")[0].strip()
    install, _, test_command = block.partition(" && ")
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert install == "./install.sh --dev" and install in ci
    assert test_command in ci


def test_trusted_proxies_are_a_list_of_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().trusted_proxies == []
    monkeypatch.setenv("KURA_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")
    assert load_settings().trusted_proxies == ["127.0.0.1", "10.0.0.0/8", "::1"]
    monkeypatch.setenv("KURA_TRUSTED_PROXIES", "127.0.0.1,proxy.example")
    with pytest.raises(SettingsError, match="KURA_TRUSTED_PROXIES.*'proxy.example' is not an IP address"):
        load_settings()
