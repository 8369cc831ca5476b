"""run_step and exit_on_stop: a script's step that fails or is stopped, and a
stop of the script itself, end it in one line with the status a shell
expects, never a traceback of the script's own."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from dld.utils.tool_steps import exit_on_stop, run_step

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _step(tmp_path, code: str, **kwargs):
    return run_step('1/2 a tool', ['-c', textwrap.dedent(code)], cwd=str(tmp_path),
                    script='s.py', **kwargs)


def test_a_finished_step_says_so_and_returns_its_seconds(tmp_path, capsys):
    took = _step(tmp_path, 'import time; time.sleep(0.2)')
    assert took >= 0.2
    out = capsys.readouterr().out
    assert '=== 1/2 a tool\n$ python -c import time; time.sleep(0.2)\n' in out
    assert '=== 1/2 a tool: done in 0.0 min' in out


@pytest.mark.parametrize('code, status, says', [
    ('import sys; sys.exit(3)', 3, 'failed (exit status 3; its message is above)'),
    ('import os, signal; os.kill(os.getpid(), signal.SIGKILL)', 137, 'was killed by SIGKILL'),
    ('import sys; sys.exit(143)', 143, 'was stopped by SIGTERM (exit status 143)'),
])
def test_a_step_that_fails_ends_the_script_with_its_status(tmp_path, capsys, code, status,
                                                          says):
    """A tool the out-of-memory killer ended (SIGKILL) read 'exit status -9'."""
    with pytest.raises(SystemExit) as exit_:
        _step(tmp_path, code, again='run it again')
    assert exit_.value.code == status
    assert capsys.readouterr().err.splitlines()[-1] == f's.py: step 1/2 a tool {says}; ' \
        'run it again'


@pytest.mark.parametrize('name', ['SIGTERM', 'SIGINT'])
def test_a_signal_to_the_script_alone_is_passed_on_to_its_tool_once(tmp_path, capsys, name):
    """A SIGINT (an IDE's stop button, kill -INT) left the tool running."""
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_:
        _step(tmp_path, f'''
            import os, signal, sys, time
            signal.signal(signal.SIGINT, signal.default_int_handler)  # as a tool's own
            try:
                os.kill(os.getppid(), signal.{name})  # the script is sent it
                time.sleep(30)  # and passes it on: this ends here
            except KeyboardInterrupt:
                pass
            try:
                time.sleep(1)  # a clean-up: a second copy would end it
            except KeyboardInterrupt:
                sys.exit(9)
            sys.exit(128 + signal.{name})
            ''')
    status = 128 + signal.Signals[name]
    assert exit_.value.code == status
    said = 'Ctrl-C' if name == 'SIGINT' else name
    assert capsys.readouterr().err.splitlines()[-1] == \
        f's.py: stopped by {said} during step 1/2 a tool'
    assert signal.getsignal(signal.SIGTERM) == before


def test_on_windows_a_ctrl_c_is_the_console_s_to_every_process_not_passed_on(
        tmp_path, capsys, monkeypatch):
    """Windows' send_signal takes SIGTERM only: passing the Ctrl-C on was a
    ValueError traceback ("Unsupported signal: 2"), status 1."""
    from dld.utils import tool_steps
    monkeypatch.setattr(tool_steps, 'ON_WINDOWS', True)
    send = subprocess.Popen.send_signal

    def windows_send_signal(self, sig):
        if sig != signal.SIGTERM:
            raise ValueError(f'Unsupported signal: {int(sig)}')
        send(self, sig)

    monkeypatch.setattr(subprocess.Popen, 'send_signal', windows_send_signal)
    with pytest.raises(SystemExit) as exit_:
        _step(tmp_path, '''
            import os, signal, sys, time
            signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                os.kill(os.getppid(), signal.SIGINT)  # the console's Ctrl-C: to the script
                os.kill(os.getpid(), signal.SIGINT)  # and to the tool
                time.sleep(30)
            except KeyboardInterrupt:
                time.sleep(1)  # its clean-up, while the script waits
                sys.exit(130)
            ''')
    assert exit_.value.code == 130
    assert capsys.readouterr().err.splitlines()[-1] == \
        's.py: stopped by Ctrl-C during step 1/2 a tool'


def test_a_tool_that_finishes_as_the_signal_comes_is_done_then_the_script_stops(
        tmp_path, capsys):
    """It was said to be stopped during its step, which had finished."""
    with pytest.raises(SystemExit) as exit_:
        _step(tmp_path, '''
            import os, signal
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a tool that does not stop
            os.kill(os.getppid(), signal.SIGTERM)
            ''', again='run it again')
    assert exit_.value.code == 143
    out, err = capsys.readouterr()
    assert '=== 1/2 a tool: done in ' in out
    assert err.splitlines()[-1] == 's.py: stopped by SIGTERM after step 1/2 a tool; run it again'


SCRIPT = '''
import sys
sys.path.insert(0, {repo!r})
from dld.utils.tool_steps import exit_on_stop, run_step
TOOL = """
import sys, time
try:
    print('tool started', flush=True)
    time.sleep(30)
except KeyboardInterrupt:
    time.sleep(0.6)  # a clean-up longer than subprocess.run's 0.25 s
    print('tool: stopped, cleaned up', file=sys.stderr, flush=True)
    sys.exit(130)
"""
with exit_on_stop('s.py'):
    run_step('1/2 a tool', ['-c', TOOL], cwd={repo!r}, script='s.py', again='run it again')
    print('not reached', flush=True)
'''


def test_ctrl_c_lets_the_tool_clean_up_then_ends_the_script_in_one_line():
    """Ctrl-C reaches the tool and the script alike (the terminal's process
    group): subprocess.run killed the tool 0.25 s into its clean-up and the
    script printed a traceback of its own."""
    proc = subprocess.Popen([sys.executable, '-c', SCRIPT.format(repo=REPO)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        for line in proc.stdout:  # the step's header, then the tool's line
            if line == 'tool started\n':
                break
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.splitlines() == ['tool: stopped, cleaned up',
                                's.py: stopped by Ctrl-C during step 1/2 a tool; run it again']
    assert 'not reached' not in out


def test_a_stop_while_the_script_itself_works_is_one_line(capsys):
    """Waiting for a lock another schedule holds, say: a traceback of the wait."""
    with pytest.raises(SystemExit) as exit_, exit_on_stop('s.py', again='go on'):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert exit_.value.code == 143
    assert capsys.readouterr().err == 's.py: stopped by SIGTERM; go on\n'
    with pytest.raises(SystemExit) as exit_, exit_on_stop('s.py'):
        raise KeyboardInterrupt
    assert exit_.value.code == 130
    assert capsys.readouterr().err == 's.py: stopped by Ctrl-C\n'
    with pytest.raises(ValueError), exit_on_stop('s.py'):  # other errors pass through
        raise ValueError('x')


HANGING = '''
import sys
sys.path.insert(0, {repo!r})
from dld.utils.tool_steps import run_step
TOOL = """
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a clean-up that hangs
print(os.getpid(), flush=True)
time.sleep(60)
"""
run_step('1/2 a tool', ['-c', TOOL], cwd={repo!r}, script='s.py')
'''


def test_a_later_signal_ends_the_script_and_its_tool_at_once():
    """The tool, in a process group of its own, was left running."""
    proc = subprocess.Popen([sys.executable, '-c', HANGING.format(repo=REPO)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # the step's header, then the tool's pid
            if line.strip().isdigit():
                tool = int(line)
                break
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.5)  # past the repeat window
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert 'stopping at once (SIGTERM again)' in proc.stderr.read()
    for _ in range(50):
        try:
            os.kill(tool, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail('the tool is still running')


@pytest.mark.skipif(not hasattr(signal, 'SIGHUP'), reason='no SIGHUP here')
def test_a_hang_up_of_the_script_ends_its_tool_too(tmp_path, capsys):
    """The tool, in a process group of its own, went on writing to a closed
    terminal; it gets the script's SIGHUP, as it did before."""
    before = signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as in a terminal, not nohup's
    try:
        with pytest.raises(SystemExit) as exit_:
            _step(tmp_path, '''
                import os, signal, time
                time.sleep(0.5)  # the script waits for it by now
                os.kill(os.getppid(), signal.SIGHUP)  # the terminal hangs up
                time.sleep(30)
                ''')
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # put back
    finally:
        signal.signal(signal.SIGHUP, before)
    assert exit_.value.code == 128 + signal.SIGHUP
    assert capsys.readouterr().err.splitlines()[-1] == 's.py: step 1/2 a tool was killed by SIGHUP'


@pytest.mark.parametrize('python', ['3.10', 'this'])
def test_the_tool_runs_in_a_process_group_of_its_own_on_every_python(tmp_path, capfd,
                                                                     monkeypatch, python):
    """Popen's process_group is Python 3.11's: on 3.10, which DLD supports,
    every step was a TypeError."""
    from dld.utils import tool_steps
    if python == '3.10':
        monkeypatch.setattr(tool_steps, '_OWN_GROUP', dict(preexec_fn=os.setpgrp))
    _step(tmp_path, '''
        import os
        print('group', os.getpgrp(), os.getpid())
        ''')
    line = next(x for x in capfd.readouterr().out.splitlines() if x.startswith('group'))
    _, group, pid = line.split()
    assert group == pid != str(os.getpgrp())
