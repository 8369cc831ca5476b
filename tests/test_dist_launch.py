"""dld.dist_launch (tools/dist_train.sh, dist_test.sh): a failure under
torchrun ends in the failing process's line, once, and one line of the
launcher's with that process's exit status, not torchrun's traceback and 1."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

TOOL = '''
import os, sys, time
from dld.engine.launch import refuse
rank = int(os.environ['RANK'])
if ({refusing})(rank):
    refuse({line})
if ({crashing})(rank):
    raise RuntimeError('a bug')
time.sleep(60)  # stopped by torchrun once another process failed
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _launch(tmp_path, refusing='lambda r: False', line="'tool.py: a setting refused'",
            crashing='lambda r: False', port=None):
    tool = tmp_path / 'tool.py'
    tool.write_text(TOOL.format(refusing=refusing, line=line, crashing=crashing))
    env = dict(os.environ, DLD_LAUNCHER_NAME='dist_x.sh')
    return subprocess.run([sys.executable, '-m', 'dld.dist_launch', '--nproc_per_node',
                           '2', '--master_addr', '127.0.0.1', '--master_port',
                           str(port or _free_port()), str(tool)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def _summary(rank: int, how: str) -> str:
    return f'dist_x.sh: tool.py on rank {rank} {how}; torchrun stopped the other processes ' \
        '(SIGTERM)'


def test_a_refusal_of_every_process_is_its_line_once_and_the_tools_status(tmp_path):
    """Every process printed it, then torchrun's ChildFailedError traceback
    of about 25 lines, and the exit status was 1."""
    done = _launch(tmp_path, refusing='lambda r: True')
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert [line for line in lines if line.startswith('tool.py: ')] == \
        ['tool.py: a setting refused']
    assert lines[-1] in [_summary(r, 'failed (exit status 2; its message is above)')
                         for r in (0, 1)]
    assert 'Traceback' not in done.stderr and 'ChildFailedError' not in done.stderr
    assert 'closing signal' not in done.stderr  # torchrun's warnings as it stops the rest
    # torchrun's error line between the tool's and the launcher's, which says it
    assert 'failed (exitcode' not in done.stderr


def test_the_line_of_another_process_that_failed_first_is_printed_by_the_launcher(tmp_path):
    done = _launch(tmp_path, refusing='lambda r: r == 1',
                   line="f'tool.py: told by rank {rank}'")
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert [line for line in lines if line.startswith('tool.py: ')] == \
        ['tool.py: told by rank 1']
    assert lines[-1] == _summary(1, 'failed (exit status 2; its message is above)')


def test_a_process_that_failed_without_a_line_is_named_with_its_status(tmp_path):
    done = _launch(tmp_path, crashing='lambda r: r == 1')
    assert done.returncode == 1
    assert 'RuntimeError: a bug' in done.stderr  # its own traceback
    assert done.stderr.splitlines()[-1] == _summary(1, 'failed (exit status 1; its message '
                                                    'is above)')


def test_a_port_another_program_holds_is_said_before_anything_starts(tmp_path):
    """It was torchrun's 40-line DistNetworkError traceback, exit status 1."""
    with socket.socket() as held:
        held.bind(('', 0))
        held.listen()
        port = held.getsockname()[1]
        done = _launch(tmp_path, port=port)
    assert done.returncode == 2
    assert done.stderr == (f'dist_x.sh: port {port} is in use (another distributed run?): set '
                           f'PORT to a free one, e.g. PORT={port + 1} bash tools/dist_x.sh ...\n')


@pytest.mark.parametrize('procs, port, says', [
    ('two', '29500', "NUM_PROCS is a whole number >= 1 (or auto, cpu, gpu), got 'two'"),
    ('0', '29500', "NUM_PROCS is a whole number >= 1 (or auto, cpu, gpu), got '0'"),
    ('', '29500', "NUM_PROCS is a whole number >= 1 (or auto, cpu, gpu), got ''"),
    ('2', '70000', "PORT is a port number, 1 to 65535, got '70000'"),
    ('2', 'abc', "PORT is a port number, 1 to 65535, got 'abc'"),
])
def test_the_scripts_refuse_a_number_of_processes_or_port_that_is_none(procs, port, says):
    """torchrun's traceback ('Unsupported nproc_per_node value'), or bind()'s."""
    for script, args in (('dist_train.sh', ['c.py', procs]),
                         ('dist_test.sh', ['c.py', 'x.pth', procs])):
        done = subprocess.run(['bash', osp.join(REPO, 'tools', script), *args],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PORT=port))
        assert done.returncode == 2
        assert done.stderr == f'{script}: {says}\n'


def test_processes_other_than_the_first_log_only_errors_before_the_runner(monkeypatch):
    """Every warning of reading the config came once per process."""
    import logging

    from mmengine.logging import MMLogger

    from dld.dist_launch import quiet_other_processes

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


def test_the_first_failure_leaves_out_the_processes_torchrun_stopped():
    """torchrun times failures to the second and breaks a tie by the lowest
    rank: the first process, stopped for another's crash, was named."""
    from types import SimpleNamespace

    from dld.dist_launch import first_failure

    def failure(exitcode, timestamp=100):
        return SimpleNamespace(exitcode=exitcode, timestamp=timestamp)
    assert first_failure({0: failure(-15), 1: failure(1)}) == 1
    assert first_failure({0: failure(143), 1: failure(2), 2: failure(2, 99)}) == 2
    assert first_failure({0: failure(-15), 1: failure(-15)}) == 0  # all stopped: the first


def test_a_process_stopped_after_it_said_its_line_is_not_the_one_reported():
    """Every process refusing: rank 0 kept its line first, rank 1 exited 2
    before rank 0 did, and torchrun stopped rank 0: the run ended 143,
    'killed by SIGTERM' (a race the CI met once)."""
    from types import SimpleNamespace

    from dld.dist_launch import reported_rank

    def failure(exitcode, timestamp=100):
        return SimpleNamespace(exitcode=exitcode, timestamp=timestamp)
    assert reported_rank(0, {0: failure(-15), 1: failure(2)}) == 1
    assert reported_rank(0, {0: failure(2), 1: failure(-15)}) == 0  # as kept
    assert reported_rank(1, {0: failure(-15), 1: failure(2)}) == 1
    assert reported_rank(None, {0: failure(-15), 1: failure(1)}) == 1  # none kept a line
    assert reported_rank(0, {0: failure(-15), 1: failure(-15)}) == 0  # all stopped: as kept


FOLLOWER = '''
import os, signal, sys, time
from dld.dist_launch import end_with_launcher
end_with_launcher()
signal.signal(signal.SIGTERM, lambda *a: (open(sys.argv[1] + os.environ['RANK'] + '.end', 'w'),
                                          sys.exit(143)))
open(sys.argv[1] + os.environ['RANK'] + '.pid', 'w').write(str(os.getpid()))
time.sleep(120)
'''


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='prctl is Linux only')
def test_the_processes_end_with_a_launcher_killed_outright(tmp_path):
    """torchrun starts each process in a session of its own: a kill -9 of the
    launcher left them training to the end, holding the work dir."""
    import signal
    import time
    tool = tmp_path / 'tool.py'
    tool.write_text(FOLLOWER)
    mark = str(tmp_path / 'rank')
    launcher = subprocess.Popen(
        [sys.executable, '-m', 'dld.dist_launch', '--nproc_per_node', '2',
         '--master_addr', '127.0.0.1', '--master_port', str(_free_port()), str(tool), mark],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not all(osp.isfile(f'{mark}{r}.pid') for r in (0, 1)):
            assert time.monotonic() < deadline and launcher.poll() is None
            time.sleep(0.2)
        time.sleep(1.0)
        assert not any(osp.exists(f'{mark}{r}.end') for r in (0, 1))  # alive with the launcher
        launcher.kill()
        launcher.wait()
        deadline = time.monotonic() + 30
        while not all(osp.isfile(f'{mark}{r}.end') for r in (0, 1)):
            assert time.monotonic() < deadline, 'a process outlived its launcher'
            time.sleep(0.2)
    finally:
        for r in (0, 1):
            try:
                os.kill(int(open(f'{mark}{r}.pid').read()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


PEER = '''
import os, time
import torch.distributed as dist
from dld.engine.launch import peer_loss_exit, refuse


@peer_loss_exit('tool.py')
def main():
    dist.init_process_group('gloo')
    if dist.get_rank() == {refusing}:
        refuse('tool.py: a setting refused')
    dist.barrier()  # the other waits for the one that is gone


main()
'''


@pytest.mark.parametrize('refusing', [0, 1])
def test_a_process_whose_peer_ended_first_adds_no_traceback(tmp_path, refusing):
    """The other process printed gloo's 'Connection closed by peer'
    traceback of some 30 lines beside the refusal's one line."""
    tool = tmp_path / 'tool.py'
    tool.write_text(PEER.format(refusing=refusing))
    env = dict(os.environ, DLD_LAUNCHER_NAME='dist_x.sh')
    done = subprocess.run([sys.executable, '-m', 'dld.dist_launch', '--nproc_per_node',
                           '2', '--master_addr', '127.0.0.1', '--master_port', str(_free_port()),
                           str(tool)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert 'Traceback' not in done.stderr and 'Connection closed' not in done.stderr
    assert done.stderr.count('tool.py: a setting refused') == 1
    assert f'dist_x.sh: tool.py on rank {refusing} failed (exit status 2; ' in done.stderr


def test_a_line_every_process_kept_is_reported_as_the_first_one_s(tmp_path):
    """Every process refused a config: the launcher named rank 1 (its file
    was written first) where torchrun's summary named rank 0."""
    import time

    from dld.dist_launch import first_kept
    (tmp_path / 'rank1.txt').write_text('tool.py: refused\n')
    time.sleep(0.01)
    (tmp_path / 'rank0.txt').write_text('tool.py: refused\n')
    assert first_kept(str(tmp_path)) == (0, '')  # rank 0 printed it
    (tmp_path / 'rank0.txt').write_text('tool.py: another line\n')
    assert first_kept(str(tmp_path)) == (1, 'tool.py: refused\n')


def test_torchrun_s_warnings_of_each_elastic_module_are_quiet():
    """'Received 2 death signal, shutting down workers' still showed: the
    agent's logger has a level of its own."""
    import logging

    import torch.distributed.run  # noqa: F401  (makes the elastic loggers)

    from dld.dist_launch import quiet_torchrun_warnings
    elastic = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
               if n.startswith('torch.distributed.elastic')]
    before = [log.level for log in elastic]
    try:
        quiet_torchrun_warnings()
        agent = logging.getLogger('torch.distributed.elastic.agent.server.api')
        assert not agent.isEnabledFor(logging.WARNING)
    finally:
        for log, level in zip(elastic, before):
            log.setLevel(level)


def test_a_peer_gone_without_a_word_leaves_the_survivor_s_error(tmp_path, monkeypatch):
    """Where no process said why the run ended (killed, or a network failure),
    gloo's error is the only trace, and is kept (a review)."""
    from dld.dist_launch import LINES_ENV
    from dld.engine.launch import peer_loss_exit
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv(LINES_ENV, str(tmp_path))
    gone = RuntimeError('[pair.cc:553] Connection closed by peer [127.0.0.1]:29500')
    with pytest.raises(RuntimeError, match='Connection closed by peer'):
        with peer_loss_exit('tool.py'):
            raise gone
    (tmp_path / 'rank1.txt').write_text('tool.py: a setting refused\n')
    with pytest.raises(SystemExit) as exit_:
        with peer_loss_exit('tool.py'):
            raise gone
    assert exit_.value.code == 1


def test_a_tool_path_that_is_not_there_is_one_line_before_any_process_starts(tmp_path):
    """From an installed dld, `tools/train.py` is no file: torchrun started
    every process, each failing on the path, under torchrun's log."""
    done = subprocess.run([sys.executable, '-m', 'dld.dist_launch', '--nproc_per_node', '2',
                           str(tmp_path / 'tools' / 'train.py')], cwd=tmp_path,
                          env=dict(os.environ, DLD_LAUNCHER_NAME='dist_x.sh'),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"dist_x.sh: {tmp_path / 'tools' / 'train.py'}: no such file. DLD's tools are in its "
        "checkout (tools/train.py, tools/test.py), not in an installed dld: give the path of a "
        "checkout's tool"]
