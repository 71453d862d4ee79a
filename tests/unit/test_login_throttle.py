"""The login throttle's rules, on a clock the test moves."""

import pytest

from app.accounts.throttle import (
    BUDGET,
    DRAIN_SECONDS,
    MAX_BLOCK_SECONDS,
    MAX_IN_FLIGHT_PER_ADDRESS,
    MAX_PENDING,
    LoginRefused,
    LoginThrottle,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(clock=clock)


def fail(throttle: LoginThrottle, address: str, times: int = 1) -> None:
    for _ in range(times):
        throttle.settle(throttle.admit(address), failed=True)


def refusal(throttle: LoginThrottle, address: str) -> LoginRefused:
    with pytest.raises(LoginRefused) as refused:
        throttle.admit(address)
    return refused.value


def test_an_address_past_its_budget_waits_and_others_do_not(throttle):
    fail(throttle, "10.0.0.1", BUDGET)

    refused = refusal(throttle, "10.0.0.1")
    assert refused.status_code == 429
    assert refused.retry_after == DRAIN_SECONDS
    assert "Try again in 60 seconds" in refused.message
    throttle.settle(throttle.admit("10.0.0.2"), failed=False)


def spend_budget(throttle: LoginThrottle, address: str) -> LoginRefused:
    """Fail until the address is refused; the refusal."""
    while True:
        try:
            ticket = throttle.admit(address)
        except LoginRefused as refused:
            return refused
        throttle.settle(ticket, failed=True)


def test_the_wait_doubles_each_time_the_budget_is_spent_again(throttle, clock):
    waits = []
    for _ in range(6):
        wait = spend_budget(throttle, "a").retry_after
        waits.append(wait)
        clock.now += wait
    # up to MAX_BLOCK_SECONDS; a wait long enough to drain every failure starts the address afresh
    assert waits == [60, 120, 240, 480, 900, 60]


def test_failures_are_forgiven_over_time(throttle, clock):
    fail(throttle, "a", BUDGET - 1)
    clock.now += 3 * DRAIN_SECONDS
    fail(throttle, "a", 3)  # back at BUDGET - 1: still admitted
    throttle.settle(throttle.admit("a"), failed=False)
    clock.now += BUDGET * DRAIN_SECONDS
    assert throttle.remembered == 1
    throttle.settle(throttle.admit("a"), failed=False)
    assert throttle.remembered == 0  # fully drained: forgotten


def test_successes_do_not_refill_the_budget(throttle):
    fail(throttle, "a", BUDGET - 1)
    throttle.settle(throttle.admit("a"), failed=False)
    fail(throttle, "a")
    assert refusal(throttle, "a").status_code == 429


def test_attempts_running_count_against_the_budget_and_the_address_share(throttle):
    tickets = [throttle.admit("a") for _ in range(MAX_IN_FLIGHT_PER_ADDRESS)]
    assert refusal(throttle, "a").retry_after == 1
    for ticket in tickets:
        throttle.settle(ticket, failed=True)

    fail(throttle, "a", BUDGET - 3)  # one failure short of the budget with one attempt running
    running = throttle.admit("a")
    assert refusal(throttle, "a").status_code == 429
    throttle.settle(running, failed=False)
    throttle.settle(throttle.admit("a"), failed=False)


def test_beyond_max_pending_the_server_is_busy_for_everyone(throttle):
    tickets = [throttle.admit(f"10.0.0.{n}") for n in range(MAX_PENDING)]
    busy = refusal(throttle, "10.0.1.1")
    assert busy.status_code == 503
    assert busy.retry_after == 1
    throttle.settle(tickets[0], failed=False)
    throttle.settle(throttle.admit("10.0.1.1"), failed=False)
    for ticket in tickets[1:]:
        throttle.settle(ticket, failed=False)
    assert throttle.pending == 0
    assert throttle.remembered == 0


def test_a_block_outlasts_the_drain(throttle, clock):
    # the fifth wait (900 s) is longer than a full budget takes to drain (600 s): the address stays
    # blocked even once its failures are forgiven
    for _ in range(4):
        clock.now += spend_budget(throttle, "a").retry_after
    assert spend_budget(throttle, "a").retry_after == MAX_BLOCK_SECONDS
    clock.now += BUDGET * DRAIN_SECONDS + 1
    assert refusal(throttle, "a").status_code == 429
    clock.now += MAX_BLOCK_SECONDS
    throttle.settle(throttle.admit("a"), failed=False)
