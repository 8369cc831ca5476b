"""A Ctrl-C or SIGTERM swallowed by a fork's callback is raised again before
the next step (a resume journey: it arrived as the validation loader forked
its workers, was printed as 'Exception ignored' and lost; the run validated
on and failed on its killed workers, exit 1)."""
import subprocess
import sys

SCRIPT = '''
import os, signal
from dld.utils.stop_signals import signals_as_one_stop
from dld.engine.hooks import SwallowedStopHook
armed = [True]
def send():  # the signal arrives while a callback of os.fork runs, as logging's does
    if armed:
        armed.clear()
        os.kill(os.getpid(), signal.SIG{name})
os.register_at_fork(after_in_parent=send)
hook = SwallowedStopHook()
hook.before_train_iter(None, 0)  # no stop: nothing to raise
with signals_as_one_stop():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    print('the fork returned', flush=True)
    try:
        hook.before_val_iter(None, 0)
    except KeyboardInterrupt as err:
        print('raised', err, flush=True)
'''


def test_a_stop_swallowed_by_a_fork_callback_is_raised_at_the_next_step():
    for name in ('INT', 'TERM'):
        done = subprocess.run([sys.executable, '-c', SCRIPT.replace('{name}', name)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert 'Exception ignored' in done.stderr  # where it was swallowed
        assert done.stdout.splitlines() == ['the fork returned', f'raised SIG{name}']
