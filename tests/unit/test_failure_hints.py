"""``FailureHints``: which client-auth subjects a gateway asks Redis about (an injected clock)."""

from __future__ import annotations

from services.gateway.failure_hints import FailureHints


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_subject_is_suspect_from_its_failure_until_the_window_ends() -> None:
    clock = Clock()
    hints = FailureHints(60, clock=clock)
    assert not hints.suspect("client:a")
    hints.failed("client:a")
    assert hints.suspect("client:a") and not hints.suspect("client:b")
    clock.now += 59.9
    assert hints.suspect("client:a")
    clock.now += 0.2
    assert not hints.suspect("client:a")


def test_a_new_failure_restarts_the_subjects_window() -> None:
    clock = Clock()
    hints = FailureHints(60, clock=clock)
    hints.failed("client:a")
    clock.now += 50
    hints.failed("client:a")
    clock.now += 50
    assert hints.suspect("client:a")


def test_past_capacity_expired_hints_are_dropped_first() -> None:
    clock = Clock()
    hints = FailureHints(10, capacity=3, clock=clock)
    for name in "abc":
        hints.failed(name)
    clock.now += 11
    hints.failed("d")  # four entries, three expired: pruned, nothing else changes
    assert hints.suspect("d") and not hints.suspect("a") and not hints.suspect("never-failed")


def test_a_spray_past_capacity_makes_every_check_ask_redis_for_a_window() -> None:
    clock = Clock()
    hints = FailureHints(10, capacity=3, clock=clock)
    for name in "abcd":
        hints.failed(name)
    assert hints.suspect("never-failed") and hints.suspect("a")
    clock.now += 10.1
    assert not hints.suspect("never-failed")
    hints.failed("e")
    assert hints.suspect("e") and not hints.suspect("a")


def test_quiet_while_nothing_failed_here_and_never_while_a_hint_or_a_spray_window_lives() -> None:
    clock = Clock()
    hints = FailureHints(10, capacity=3, clock=clock)
    assert hints.quiet()
    hints.failed("a")
    assert not hints.quiet()
    clock.now += 10.1
    assert not hints.suspect("a") and hints.quiet()  # the expired hint is gone once looked at
    for name in "bcde":
        hints.failed(name)
    assert not hints.quiet()  # past capacity: every check asks Redis for a window
    clock.now += 10.1
    assert hints.quiet()


def test_quiet_again_when_the_window_ends_even_if_the_failed_subject_never_comes_back() -> None:
    clock = Clock()
    hints = FailureHints(10, clock=clock)
    hints.failed("a")
    clock.now += 5
    hints.failed("b")
    clock.now += 6  # a's hint has ended, b's has not
    assert not hints.quiet()
    clock.now += 4.1
    assert hints.quiet()  # neither subject was looked at again
