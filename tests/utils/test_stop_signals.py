"""signals_as_one_stop: the first Ctrl-C or SIGTERM stops, a second is ignored."""
import os
import signal

import pytest

from dld.utils.stop_signals import said, signals_as_one_stop, stop_status


def test_the_first_signal_stops_a_second_is_ignored_and_the_handlers_come_back():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with signals_as_one_stop() as stopping:
        with pytest.raises(KeyboardInterrupt) as info:
            os.kill(os.getpid(), signal.SIGTERM)
        assert str(info.value) == 'SIGTERM' and stopping == ['SIGTERM']
        os.kill(os.getpid(), signal.SIGINT)  # pressing Ctrl-C while it cleans up: ignored
    assert {s: signal.getsignal(s) for s in before} == before
    assert (said('SIGINT'), stop_status('SIGINT'), said('SIGTERM'), stop_status('SIGTERM')) \
        == ('Ctrl-C', 130, 'SIGTERM', 143)
