"""The global cooldown in PostgreSQL: one sliding window per user shared by every bot process,
race-free, and a database that goes down never refuses or delays a question."""

from __future__ import annotations

import logging
import threading

import pytest
from pg import PASSWORD, PostgresServer

from bot.discord_app.cooldown import Cooldown
from bot.shared.cooldown_store import DatabaseCooldown


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_window_is_shared_by_every_process(pg_database: str) -> None:
    clock = Clock()
    one = DatabaseCooldown(pg_database, 2, 30.0, clock=clock)
    two = DatabaseCooldown(pg_database, 2, 30.0, clock=clock)  # another shard
    assert one.hit(7) == 0.0
    clock.now += 10
    assert two.hit(7) == 0.0
    assert one.retry_after(7) == pytest.approx(20.0)
    assert two.hit(7) == pytest.approx(20.0)  # the third within 30 s, whichever process
    assert one.hit(8) == 0.0  # other users are not affected
    clock.now += 20
    assert one.retry_after(7) == 0.0 and two.hit(7) == 0.0  # the first hit left the window
    assert one.hit(7) == pytest.approx(10.0)
    one.close()
    two.close()


def test_it_behaves_like_the_in_memory_cooldown(pg_database: str) -> None:
    clock = Clock()
    shared = DatabaseCooldown(pg_database, 3, 5.0, clock=clock)
    local = Cooldown(3, 5.0, clock=clock)
    for step in [0.0, 1.0, 1.0, 0.5, 3.0, 0.1, 2.0, 6.0, 0.0, 0.0, 0.0, 0.0]:
        clock.now += step
        assert shared.retry_after(1) == pytest.approx(local.retry_after(1))
        assert shared.hit(1) == pytest.approx(local.hit(1))
    shared.close()


def test_concurrent_questions_never_exceed_the_limit(pg_database: str) -> None:
    limiters = [DatabaseCooldown(pg_database, 5, 60.0) for _ in range(4)]  # database clock
    allowed: list[float] = []
    lock = threading.Lock()

    def ask(limiter: DatabaseCooldown) -> None:
        for _ in range(5):
            wait = limiter.hit(42)
            with lock:
                allowed.append(wait)

    threads = [threading.Thread(target=ask, args=(lim,)) for lim in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for w in allowed if w == 0.0) == 5 and len(allowed) == 20
    for limiter in limiters:
        limiter.close()


async def test_async_calls_run_off_the_event_loop(pg_database: str) -> None:
    limiter = DatabaseCooldown(pg_database, 1, 60.0)
    assert await limiter.ahit(5) == 0.0
    assert await limiter.aretry_after(5) > 59.0
    limiter.close()


def test_a_database_that_is_down_falls_back_to_the_process_and_recovers(
    pg_own_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    local = Cooldown(1, 30.0, clock=clock)
    limiter = DatabaseCooldown(
        pg_own_server.create_database(), 1, 30.0, fallback=local, clock=clock, connect_timeout=2
    )
    assert limiter.hit(1) == 0.0
    pg_own_server.restart()
    assert limiter.hit(1) == pytest.approx(30.0)  # reconnected: the window survived
    pg_own_server.stop()
    try:
        with caplog.at_level(logging.DEBUG, logger="bot"):
            assert limiter.hit(2) == 0.0  # the process's own cooldown decides meanwhile
            assert limiter.hit(2) == pytest.approx(30.0)
            assert limiter.hit(3) == 0.0
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "own cooldown" in warnings[0]
        assert PASSWORD not in warnings[0] and "\n" not in warnings[0]
    finally:
        pg_own_server.start()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot"):
        assert limiter.hit(1) == pytest.approx(30.0)
    assert "works again" in caplog.text
    limiter.close()


def test_without_a_fallback_questions_pass_while_the_database_is_down() -> None:
    limiter = DatabaseCooldown("postgresql://u:hunter2@127.0.0.1:1/db", 1, 30.0, connect_timeout=2)
    assert limiter.hit(1) == 0.0 and limiter.hit(1) == 0.0
    assert limiter.retry_after(1) == 0.0
    assert "hunter2" not in repr(limiter)
