"""Signals held back where the main thread must not be cut off (provisioner.interrupts)."""

from __future__ import annotations

import signal

import pytest

from provisioner import interrupts


def test_a_signal_outside_a_deferred_block_interrupts_at_once() -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupts.handler(signal.SIGTERM, None)


def test_a_signal_inside_a_deferred_block_is_raised_as_it_ends() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt), interrupts.deferred():
        interrupts.handler(signal.SIGTERM, None)
        reached.append("the rest of the block")
        with interrupts.deferred():  # nested: raised only when the outermost ends
            interrupts.handler(signal.SIGINT, None)
            reached.append("the inner block")
        reached.append("after the inner block")
    assert reached == ["the rest of the block", "the inner block", "after the inner block"]
    with interrupts.deferred():  # nothing left pending
        pass


def test_a_real_sigterm_in_a_deferred_block_waits_for_its_end() -> None:
    old = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, interrupts.handler)
    try:
        reached = []
        with pytest.raises(KeyboardInterrupt), interrupts.deferred():
            signal.raise_signal(signal.SIGTERM)
            reached.append("ran on")
        assert reached == ["ran on"]
    finally:
        signal.signal(signal.SIGTERM, old)
