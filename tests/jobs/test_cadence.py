"""The job table and tick buckets (pure): every replica must compute the same bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ScheduleConfig
from bot.errors import ConfigError
from bot.jobs import DailyAt, Every, job_specs, resolve
from bot.scheduler import trigger_for


def test_every_buckets_are_aligned_on_the_epoch() -> None:
    every = Every(60)
    at = datetime(2026, 8, 10, 9, 0, 0, tzinfo=UTC)
    first = every.period(at)
    assert first.start == at and first.bucket == str(int(at.timestamp()) // 60)
    assert every.period(at + timedelta(seconds=59.9)) == first
    assert every.period(at + timedelta(seconds=60)).bucket == str(int(first.bucket) + 1)


def test_sub_second_buckets_survive_float_error_at_the_boundary() -> None:
    every = Every(0.2)
    for k in (8_620_000_001, 8_620_000_002, 8_620_000_003):
        boundary = datetime.fromtimestamp(k * 0.2, UTC)
        assert every.period(boundary).bucket == str(k)
        assert every.period(boundary + timedelta(milliseconds=150)).bucket == str(k)


def test_daily_bucket_is_the_local_date_of_the_latest_digest_time() -> None:
    daily = DailyAt(9, 0, "Europe/Berlin")  # 07:00 UTC in summer
    before = daily.period(datetime(2026, 8, 10, 6, 59, tzinfo=UTC))
    after = daily.period(datetime(2026, 8, 10, 7, 0, tzinfo=UTC))
    assert before.bucket == "2026-08-09"
    assert after.bucket == "2026-08-10"
    assert after.start == datetime(2026, 8, 10, 7, 0, tzinfo=UTC)


def test_an_unknown_time_zone_is_a_config_error_at_startup() -> None:
    with pytest.raises(ConfigError, match="digest_timezone"):
        job_specs(ScheduleConfig(digest_timezone="Mars/Olympus"))


def test_the_job_table_follows_the_configuration() -> None:
    specs = {s.name: s for s in job_specs(ScheduleConfig())}
    assert set(specs) == {"reminders", "vitals", "memory-watch", "status-updates",
                          "profile-baseline", "digest"}
    assert specs["reminders"].cadence == Every(60.0)  # min(30 min / 4, 60 s)
    assert specs["vitals"].cadence == Every(300.0)
    assert specs["digest"].cadence == DailyAt(9, 0, "UTC")
    fast = {s.name: s for s in job_specs(ScheduleConfig(reminder_after=0.8, digest_at=None))}
    assert "digest" not in fast
    assert fast["reminders"].cadence == Every(0.2)


def test_every_sweep_is_importable_by_reference() -> None:
    for spec in job_specs(ScheduleConfig()):
        assert callable(resolve(spec.sweep))
    for ref in ("bot.jobs.reminders:remind", "bot.jobs.vitals:refresh",
                "bot.jobs.memory_watch:watch", "bot.jobs.digest:post_digest"):
        assert callable(resolve(ref))
    with pytest.raises(ValueError, match="module:function"):
        resolve("bot.jobs.reminders")


def test_triggers_fire_on_period_boundaries() -> None:
    now = datetime.now(UTC)
    every = Every(0.5)
    fire = trigger_for(every).get_next_fire_time(None, now)
    assert fire >= now and every.period(fire).start == fire
    daily = trigger_for(DailyAt(9, 30, "Europe/Berlin")).get_next_fire_time(None, now)
    local = daily.astimezone(DailyAt(9, 30, "Europe/Berlin").zone)
    assert (local.hour, local.minute) == (9, 30)
