"""signals_as_one_stop: the first Ctrl-C or SIGTERM stops, a double press is
ignored, a later signal ends the process at once, an ignored one stays so."""
import os
import signal
import subprocess
import sys

import pytest

from dld.utils.stop_signals import said, signals_as_one_stop, stop_status


def test_the_first_signal_stops_a_repeat_is_ignored_and_the_handlers_come_back():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    chld = signal.getsignal(signal.SIGCHLD)
    try:
        with signals_as_one_stop() as stop:
            with pytest.raises(KeyboardInterrupt) as info:
                os.kill(os.getpid(), signal.SIGTERM)
            assert str(info.value) == 'SIGTERM' and stop.names == ['SIGTERM']
            os.kill(os.getpid(), signal.SIGINT)  # pressed again at once: ignored
        assert {s: signal.getsignal(s) for s in before} == before
    finally:
        signal.signal(signal.SIGCHLD, chld)
    with signals_as_one_stop() as stop:  # deferred: recorded, not raised
        stop.defer = True
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.names == ['SIGINT']
    assert (said('SIGINT'), stop_status('SIGINT'), said('SIGTERM'), stop_status('SIGTERM')) \
        == ('Ctrl-C', 130, 'SIGTERM', 143)


SCRIPT = '''
import os, signal, sys, time
from dld.utils.stop_signals import signals_as_one_stop
with signals_as_one_stop() as stop:
    stop.defer = True
    os.kill(os.getpid(), signal.SIGTERM)  # the clean-up then hangs
    time.sleep(1.2)
    print('again', flush=True)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
print('not reached')
'''


def test_a_signal_after_the_repeat_window_ends_the_process_at_once():
    """Ignoring every later signal left a hung clean-up for kill -9 only."""
    done = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 143 and done.stdout == 'again\n'
    assert 'stopping at once (Ctrl-C again)' in done.stderr


def test_a_signal_ignored_before_stays_ignored():
    """A background job of a script ignores SIGINT; the block took it over."""
    script = ('import signal\nfrom dld.utils.stop_signals import signals_as_one_stop\n'
              'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
              'with signals_as_one_stop():\n'
              '    print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)\n')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout == 'True\n', done.stderr


def test_a_second_signal_is_said_once_not_by_each_forked_worker():
    """A Ctrl-C again to the process group printed 'stopping at once' twice:
    a loader worker forked inside the block had the handler too (a resume
    journey). The worker ends quietly, with the stop's status."""
    import subprocess
    import sys
    script = '''
import os, signal, sys
from dld.utils.stop_signals import signals_as_one_stop
with signals_as_one_stop() as stop:
    stop.append('SIGINT')
    stop.first_at -= 5  # the first stop came a while ago: this is a later one
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGINT)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print('worker', os.waitstatus_to_exitcode(status), flush=True)
    os.kill(os.getpid(), signal.SIGINT)
'''
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.splitlines() == ['worker 130']
    assert done.stderr.count('stopping at once (Ctrl-C again)') == 1  # the main process's
    assert done.returncode == 130


HUNG_UP = '''
import os, sys, time
from mmengine.logging import MMLogger
from dld.engine.launch import last_line
from dld.utils.stop_signals import signals_as_one_stop, stop_status
MMLogger.get_instance('hup', log_file=sys.argv[1])
try:
    with signals_as_one_stop(hangup=True):
        print('ready', flush=True)
        time.sleep(60)
except KeyboardInterrupt as stop:
    print('cleaning up', flush=True)  # the terminal is gone: EIO, unless off it
    last_line('tool.py: stopped by SIGHUP (its terminal closed)')
    sys.exit(stop_status(str(stop)))
'''


@pytest.mark.skipif(not hasattr(signal, 'SIGHUP'), reason='no terminals here')
def test_a_closed_terminal_s_stop_ends_with_its_status_and_its_line_in_the_log(tmp_path):
    """After the hang-up every write to the terminal failed (EIO): the stop's
    line was lost, and the run ended with a traceback and status 1 (a
    review)."""
    import pty
    import time
    log = tmp_path / 'run.log'
    (tmp_path / 'tool.py').write_text(HUNG_UP)
    main, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(tmp_path / 'tool.py'), str(log)],
                            stdin=terminal, stdout=terminal, stderr=terminal,
                            start_new_session=True)
    os.close(terminal)
    deadline = time.monotonic() + 120
    said = b''
    while b'ready' not in said:
        assert time.monotonic() < deadline
        said += os.read(main, 1024)
    os.close(main)  # the terminal closes
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=60) == 128 + signal.SIGHUP
    assert 'tool.py: stopped by SIGHUP (its terminal closed)' in log.read_text()


WRITES_ON = '''
import os, sys, time
from types import SimpleNamespace
from mmengine.logging import MMLogger
from dld.engine.launch import last_line, stopped_in_one_line
from dld.utils.stop_signals import said, signals_as_one_stop, stop_status
MMLogger.get_instance('hup', log_file=sys.argv[1])
def writes_on():  # a tool's output to its terminal, which the test closes
    print('ready', flush=True)
    for _ in range(1200):
        print('a line', flush=True)
        time.sleep(0.05)
if sys.argv[2] == 'block':
    try:
        with signals_as_one_stop(hangup=True):
            writes_on()
    except KeyboardInterrupt as stop:
        last_line('tool.py: stopped by SIGHUP (its terminal closed)')
        time.sleep(1)  # a clean-up: the test's SIGHUP comes now
        sys.exit(stop_status(str(stop)))
else:  # train.py's and test.py's stop handling
    loops = SimpleNamespace(_train_loop=None, _val_loop=None, _test_loop=None)
    with stopped_in_one_line(loops, lambda name: f'tool.py: stopped by {said(name)}'):
        writes_on()
'''


@pytest.mark.skipif(not hasattr(signal, 'SIGHUP'), reason='no terminals here')
@pytest.mark.parametrize('handling', ['block', 'stopped_in_one_line'])
def test_a_write_to_the_closed_terminal_before_its_hang_up_is_the_same_stop(tmp_path, handling):
    """A write's EIO before the SIGHUP came (the kernel's goes to the
    terminal's session leader, a shell passes it on later, a tool of another
    session gets none) ended the block: the tool ended with a traceback,
    itself lost (status 1), or the SIGHUP, after the block put SIG_DFL back,
    killed it (status -1, once in six CI runs of the test above)."""
    import pty
    import time
    log = tmp_path / 'run.log'
    (tmp_path / 'tool.py').write_text(WRITES_ON)
    main, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(tmp_path / 'tool.py'), str(log), handling],
                            stdin=terminal, stdout=terminal, stderr=terminal,
                            start_new_session=True)
    os.close(terminal)
    try:
        deadline = time.monotonic() + 120
        said = b''
        while b'ready' not in said:
            assert time.monotonic() < deadline
            said += os.read(main, 1024)
        os.close(main)  # the terminal closes; no SIGHUP yet: the next line fails (EIO)
        line = 'tool.py: stopped by SIGHUP (its terminal closed)'
        while not (log.exists() and line in log.read_text()):
            assert proc.poll() is None, f'ended with {proc.returncode}, the line not in the log'
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGHUP)  # it comes now, in the clean-up: a hang-up again
        assert proc.wait(timeout=60) == 128 + signal.SIGHUP
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not hasattr(signal, 'SIGHUP'), reason='no terminals here')
def test_after_a_hang_up_stop_a_hang_up_again_is_ignored(monkeypatch):
    """A second SIGHUP (the kernel's, after one sent to the process) arriving
    after the block killed its clean-up: status -1 in CI (a review's test)."""
    from dld.utils import stop_signals
    # this process's terminal, where pytest runs in one, is not gone
    monkeypatch.setattr(stop_signals, '_off_the_closed_terminal', lambda: None)
    before = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_as_one_stop(hangup=True):
                os.kill(os.getpid(), signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        with pytest.raises(KeyboardInterrupt):
            with signals_as_one_stop(hangup=True):
                os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN  # as it was before the block
        # nor, inside a block, ends the process at once as a later Ctrl-C does
        import time
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with signals_as_one_stop(hangup=True) as stop:
            stop.defer = True
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(1.2)
            os.kill(os.getpid(), signal.SIGHUP)
            assert stop.names == ['SIGHUP']  # still here
    finally:
        signal.signal(signal.SIGHUP, before)
