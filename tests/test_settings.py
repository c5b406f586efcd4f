"""Settings precedence, secrets, and ``pactwatch check-config``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, describe_validation_error, load_settings, packaged_config_dir

REPO = Path(__file__).resolve().parents[1]


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACTWATCH_", "DISCORD_", "SLACK_"))}
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "pactwatch.toml"
    cfg.write_text('poll_interval_seconds = 120\nretention_days = 30\ndata_dir = "/srv/pw"\n')
    monkeypatch.setenv("PACTWATCH_CONFIG", str(cfg))
    monkeypatch.setenv("PACTWATCH_RETENTION_DAYS", "7")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("DISCORD_TOKEN", "tok-abcdef-secret")
    s = load_settings()
    assert s.poll_interval_seconds == 120  # from the file
    assert s.retention_days == 7  # env wins over the file
    assert s.db_url == "postgresql+asyncpg://u@h/db"
    assert s.discord_token is not None and s.discord_token.get_secret_value() == "tok-abcdef-secret"
    assert "tok-abcdef-secret" not in repr(s) and "tok-abcdef-secret" not in str(s.model_dump())
    assert not s.console_enabled  # a chat token turns the console off by default


def test_defaults_sqlite_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PACTWATCH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("PACTWATCH_DATA_DIR", str(tmp_path / "d"))
    s = Settings()
    assert s.db_url == f"sqlite+aiosqlite:///{(tmp_path / 'd' / 'pactwatch.db').resolve()}"
    # With no config/ folder beside the settings file, the packaged defaults are used.
    assert s.resolved_feeds_file() == packaged_config_dir() / "feeds.toml"
    assert s.resolved_feeds_file().is_file() and s.resolved_facts_file().is_file()


def _check_config(tmp_path: Path, toml: str, **files: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pactwatch.toml").write_text(toml)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = _clean_env(tmp_path, PACTWATCH_CONFIG=str(tmp_path / "pactwatch.toml"))
    return subprocess.run(
        [sys.executable, "-m", "bot", "check-config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def test_check_config_passes_on_the_shipped_defaults(tmp_path: Path) -> None:
    r = _check_config(tmp_path, "")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""


def test_check_config_says_what_it_read(tmp_path: Path) -> None:
    r = _check_config(tmp_path, 'log_level = "debug"\n')
    assert r.returncode == 0, r.stdout + r.stderr
    read = dict(line.split(": ", 1) for line in r.stderr.splitlines() if ": " in line)
    assert read["settings"] == str(tmp_path / "pactwatch.toml")
    assert read["feeds"].endswith("feeds.toml") and read["facts"].endswith("facts.toml")
    assert read["relevance"].endswith("relevance.toml")
    assert read["database"].startswith("sqlite+aiosqlite:///")
    assert r.stderr.splitlines()[-1] == "configuration OK"


def test_check_config_refuses_an_unknown_log_level(tmp_path: Path) -> None:
    r = _check_config(tmp_path, 'log_level = "CHATTY"\n')
    assert r.returncode == 1
    [line] = r.stdout.splitlines()
    assert line.startswith(f"{tmp_path / 'pactwatch.toml'}: log_level: ") and "'DEBUG'" in line, line


def test_check_config_reports_a_settings_file_that_does_not_exist(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, PACTWATCH_CONFIG=str(tmp_path / "nowhere.toml"))
    r = subprocess.run(
        [sys.executable, "-m", "bot", "check-config"], capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        f"PACTWATCH_CONFIG names {tmp_path / 'nowhere.toml'}, which is not a file, so the defaults are used; "
        "create it, or unset PACTWATCH_CONFIG."
    ]


def test_check_config_tries_the_database(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens here once the socket closes
    r = _check_config(tmp_path, f'database_url = "postgresql+asyncpg://u:hunter2@127.0.0.1:{dead}/x"\n')
    assert r.returncode == 1
    [line] = r.stdout.splitlines()
    assert line.startswith("DATABASE_URL: cannot connect to the database: ") and "hunter2" not in line, line
    assert "hunter2" not in r.stderr
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file where the data folder should be")
    r = _check_config(tmp_path, f'database_url = "sqlite+aiosqlite:///{not_a_folder}/sub/p.db"\n')
    assert r.returncode == 1
    assert r.stdout.strip() == (
        f"DATABASE_URL: the database file {not_a_folder}/sub/p.db cannot be created: {not_a_folder} is not a "
        "writable folder"
    )


def test_check_config_warns_about_feeds_on_private_addresses(tmp_path: Path) -> None:
    feeds = '[[feeds]]\nname = "LAN"\nurl = "http://192.168.1.20/rss"\n\n[[feeds]]\nurl = "https://news.invalid/rss"\n'
    r = _check_config(tmp_path, "", **{"feeds.toml": feeds})
    assert r.returncode == 0, r.stdout + r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "'LAN' is at 192.168.1.20" in warnings[0]
    assert "PACTWATCH_ALLOW_PRIVATE_NETWORKS=true" in warnings[0]
    allowed = _check_config(tmp_path, "allow_private_networks = true\n", **{"feeds.toml": feeds})
    assert not [line for line in allowed.stderr.splitlines() if line.startswith("warning: ")]


def test_check_config_lists_each_problem_with_file_and_key(tmp_path: Path) -> None:
    r = _check_config(
        tmp_path,
        'poll_interval_seconds = "often"\npoll_intervall = 3\n'
        '[[subscriptions]]\nplatform = "irc"\nchannel = "x"\n',
        **{
            "feeds.toml": '[[feeds]]\nname = "x"\n\n[[feeds]]\nurl = "gopher://old"\n'
            '[[feeds]]\nurl = "https://a/"\ninterval = 1\n',
        },
    )
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert any("poll_interval_seconds" in ln and "pactwatch.toml" in ln for ln in lines), lines
    assert any("poll_intervall" in ln and "unknown setting" in ln for ln in lines), lines
    assert any("subscriptions.0.platform" in ln for ln in lines), lines
    assert len(lines) == 3, "settings errors stop before the other files are read"
    r = _check_config(
        tmp_path,
        "",
        **{
            "feeds.toml": '[[feeds]]\nname = "x"\n\n[[feeds]]\nurl = "gopher://old"\n'
            '[[feeds]]\nurl = "https://a/"\ninterval = 1\n',
        },
    )
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert any("feeds[0].url" in ln and "missing" in ln for ln in lines), lines
    assert any("feeds[1].url" in ln and "gopher" in ln for ln in lines), lines
    assert any("feeds[2].interval" in ln for ln in lines), lines
    assert all(ln.startswith(str(tmp_path / "feeds.toml")) for ln in lines), lines


def test_check_config_rejects_a_bad_digest_schedule_or_time_zone(tmp_path: Path) -> None:
    """The settings file's subscriptions go through the one schedule grammar (bot.schedule)."""
    sub = '[[subscriptions]]\nplatform = "console"\nchannel = "c"\n'
    r = _check_config(tmp_path, sub + 'digest = "99 99 * * *"\n')
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        f"{tmp_path / 'pactwatch.toml'}: subscriptions.0.digest: "
        "The crontab's minute field allows 0–59, not 99."
    ]
    r = _check_config(tmp_path, sub + 'digest = "every 5 hours"\ntimezone = "Mars/Olympus"\n')
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert len(lines) == 2, lines
    assert "subscriptions.0.digest: 'every 5 hours' must divide a day evenly" in lines[0]
    assert lines[1].endswith(
        "subscriptions.0.timezone: 'Mars/Olympus' is not a time zone; use an IANA name like Asia/Seoul, "
        "Europe/Moscow or UTC."
    )
    r = _check_config(tmp_path, sub + 'digest = "weekdays 08:00"\ntimezone = "Asia/Seoul"\n')
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    ("digest", "cron"),
    [("08:00", "0 8 * * *"), ("every 6 hours", "0 */6 * * *"), ("off", None), (None, None)],
)
def test_subscription_digest_is_kept_as_its_crontab(digest: str | None, cron: str | None) -> None:
    from bot.settings import SubscriptionConfig

    sub = SubscriptionConfig(platform="slack", channel="C1", digest=digest, timezone=" Asia/Seoul")
    assert sub.digest == cron and sub.timezone == "Asia/Seoul"


@pytest.mark.parametrize(
    "values,says",
    [
        ({"worker_dispatch_seconds": 7}, "worker_dispatch_seconds must divide 60"),
        ({"worker_upkeep_seconds": 25}, "worker_upkeep_seconds must divide 60"),
        ({"worker_heartbeat_seconds": 10, "worker_stalled_seconds": 15}, "at least twice worker_heartbeat"),
        ({"gateway_standby_seconds": 0}, "greater than 0"),
    ],
)
def test_the_worker_settings_are_checked(values: dict[str, float], says: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        Settings(**values)
    lines = describe_validation_error(refused.value, "pactwatch.toml")
    assert len(lines) == 1 and says in lines[0], lines
