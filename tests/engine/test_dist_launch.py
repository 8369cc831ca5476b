"""dld.engine.dist_launch (tools/dist_train.sh, dist_test.sh): a failure under
torchrun ends in the failing process's line, once, and one line of the
launcher's with that process's exit status, not torchrun's traceback and 1."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TOOL = '''
import os, sys, time
from dld.engine.launch import refuse
rank = int(os.environ['RANK'])
if rank in {refusing}:
    time.sleep(0.5 * rank)  # the first failure is the lowest refusing rank's
    refuse(f'tool.py: a setting refused (told by rank {{rank}})')
time.sleep(60)  # stopped by torchrun once another process failed
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _launch(tmp_path, refusing, port=None):
    tool = tmp_path / 'tool.py'
    tool.write_text(TOOL.format(refusing=set(refusing)))
    env = dict(os.environ, DLD_LAUNCHER_NAME='dist_x.sh')
    return subprocess.run([sys.executable, '-m', 'dld.engine.dist_launch', '--nproc_per_node',
                           '2', '--master_addr', '127.0.0.1', '--master_port',
                           str(port or _free_port()), str(tool)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize('refusing, failed_rank', [((0, 1), 0), ((1, ), 1)])
def test_a_refusal_under_torchrun_is_its_line_once_and_the_tools_status(
        tmp_path, refusing, failed_rank):
    """Every process printed it, then torchrun's ChildFailedError traceback
    of about 25 lines, and the exit status was 1. A line of a process other
    than the first is printed where that process failed first."""
    done = _launch(tmp_path, refusing)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    told = [line for line in lines if line.startswith('tool.py: ')]
    assert told == [f'tool.py: a setting refused (told by rank {failed_rank})']
    assert lines[-1] == (f'dist_x.sh: tool.py on rank {failed_rank} failed (exit status 2; its '
                         'message is above); the other processes were stopped')
    assert 'Traceback' not in done.stderr and 'ChildFailedError' not in done.stderr


def test_a_port_another_program_holds_is_said_before_anything_starts(tmp_path):
    """It was torchrun's 40-line DistNetworkError traceback, exit status 1."""
    with socket.socket() as held:
        held.bind(('', 0))
        held.listen()
        port = held.getsockname()[1]
        done = _launch(tmp_path, (0, ), port=port)
    assert done.returncode == 2
    assert done.stderr == (f'dist_x.sh: port {port} is in use (another distributed run?): set '
                           f'PORT to a free one, e.g. PORT={port + 1} bash tools/dist_x.sh ...\n')


@pytest.mark.parametrize('value', ['two', '0', ''])
def test_the_scripts_refuse_a_number_of_processes_that_is_none(value):
    for script, args in (('dist_train.sh', ['c.py', value]),
                         ('dist_test.sh', ['c.py', 'x.pth', value])):
        done = subprocess.run(['bash', osp.join(REPO, 'tools', script), *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert done.stderr == f"{script}: NUM_PROCS is a whole number >= 1, got '{value}'\n"


def test_processes_other_than_the_first_log_only_errors_before_the_runner(monkeypatch):
    """Every warning of reading the config came once per process."""
    import logging

    from mmengine.logging import MMLogger

    from dld.engine.launch import quiet_other_processes

    def terminal_level(name):
        logger = MMLogger.get_instance(name)  # the current instance now
        [stream] = [h for h in logger.handlers if type(h) is logging.StreamHandler]
        before = stream.level
        quiet_other_processes()
        level = stream.level
        stream.setLevel(before)  # as it was for the tests after this one
        return level
    monkeypatch.setenv('RANK', '0')
    assert terminal_level('quiet_first') == logging.INFO
    monkeypatch.setenv('RANK', '1')
    assert terminal_level('quiet_second') == logging.ERROR
