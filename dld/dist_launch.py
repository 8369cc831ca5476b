"""torchrun for ``tools/dist_train.sh`` and ``tools/dist_test.sh``, ending as
the tools end: in one line, with the tool's exit status.

torchrun ended every failure with a traceback of its own (a
``ChildFailedError`` of about 25 lines, below the tool's message, printed
once per process) and exit status 1, whatever the tool's: a refusal (2) or a
stop by Ctrl-C (130) read to a scheduler as a crash. Here every process
keeps its last line in a file of the launcher's (:func:`keep_for_launcher`)
and only the first one prints it; the launcher prints the line kept first
where the first process did not print it, then one line of its own, and
exits with that process's status (128 + the signal for a signal). A port
another run holds is said before anything starts.

The folder is each node's: with several nodes, each node's launcher says
what failed on its node.

    python -m dld.dist_launch [torchrun arguments] TOOL [tool arguments]
"""
import errno
import logging
import os
import os.path as osp
import shutil
import signal
import socket
import sys
import tempfile
from typing import List, Optional, Tuple

#: The folder where the processes keep their last line.
LINES_ENV = 'DLD_LAUNCHER_LINES'
#: The name the launcher's lines start with (the shell script's).
NAME_ENV = 'DLD_LAUNCHER_NAME'
#: The launcher's process id, which its processes end with.
PID_ENV = 'DLD_LAUNCHER_PID'


def keep_for_launcher(line: str) -> bool:
    """Keep ``line`` for the launcher, under :mod:`dld.dist_launch`;
    True where the launcher prints it (a process other than the first one),
    False where the caller prints it (the first process, or no launcher)."""
    folder, rank = os.environ.get(LINES_ENV), os.environ.get('RANK')
    if not folder or rank is None:
        return False
    try:
        with open(osp.join(folder, f'rank{rank}.txt'), 'w', encoding='utf-8') as f:
            f.write(line + '\n')
    except OSError:  # the folder went: print it after all
        return False
    return rank != '0'


def kept_ranks(folder: str) -> List[int]:
    """The ranks whose processes kept their line in ``folder``."""
    return [int(n[4:-4]) for n in os.listdir(folder)
            if n.startswith('rank') and n.endswith('.txt') and n[4:-4].isdigit()]


def another_process_said(folder: str) -> bool:
    """Whether a process other than this one kept its line in ``folder``
    (a refusal, a data error: the reason the run ended)."""
    try:
        return any(str(r) != os.environ.get('RANK') for r in kept_ranks(folder))
    except OSError:
        return False


def first_kept(folder: str) -> Tuple[Optional[int], str]:
    """The rank whose line was kept first, and that line where the launcher
    is to print it: '' where it is the first process's, which printed it,
    or a line the first process printed too (a config every process
    refused)."""
    kept = {}
    for rank in kept_ranks(folder):
        path = osp.join(folder, f'rank{rank}.txt')
        with open(path, encoding='utf-8') as f:
            kept[rank] = (os.stat(path).st_mtime_ns, f.read())
    if not kept:
        return None, ''
    rank = min(kept, key=lambda r: (kept[r][0], r))
    line = kept[rank][1]
    # a line every process kept (a refusal of the config) is the first one's:
    # its file's time named another process than torchrun's summary did
    rank = min(r for r in kept if kept[r][1] == line)
    printed = rank == 0 or (0 in kept and kept[0][1] == line)
    return rank, '' if printed else line


def kept_line(folder: str, rank: Optional[int]) -> str:
    """The line process ``rank`` kept ('' where it kept none)."""
    path = osp.join(folder, f'rank{rank}.txt')
    if rank is None or not osp.isfile(path):
        return ''
    with open(path, encoding='utf-8') as f:
        return f.read()


def first_failure(failures: dict) -> int:
    """The rank that failed first, leaving out those torchrun stopped
    (SIGTERM) where another failed: torchrun times failures to the second
    and breaks ties by the lowest rank, which named the first process,
    stopped, for another that had crashed."""
    failed = {r: f for r, f in failures.items() if not _stopped(f.exitcode)} or failures
    return min(failed, key=lambda r: (failed[r].timestamp, r))


def _stopped(code: int) -> bool:
    """Whether a process ended by SIGTERM (torchrun stops the others so)."""
    return code in (-signal.SIGTERM, 128 + signal.SIGTERM)


def reported_rank(kept: Optional[int], failures: dict) -> int:
    """The rank whose end the launcher reports: the one that kept its line
    first, unless torchrun stopped it (it had said its line, and another
    process's own failure came first to end): then the first that failed.
    Every process refusing a config, rank 0 said it and was stopped before
    it exited 2, and the run ended 143 "killed by SIGTERM"."""
    failed = first_failure(failures)
    if kept is None or kept not in failures or (
            _stopped(failures[kept].exitcode) and not _stopped(failures[failed].exitcode)):
        return failed
    return kept


def port_in_use(port: int) -> bool:
    """Whether another program listens on ``port`` (the rendezvous binds it
    with SO_REUSEADDR too, so a port left in TIME_WAIT counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('', port))
        except OSError as err:
            return err.errno == errno.EADDRINUSE
    return False


def main(argv: Optional[List[str]] = None) -> int:
    name = os.environ.get(NAME_ENV)
    try:  # torch loads for seconds: a Ctrl-C then was a traceback of its imports
        from torch.distributed.elastic.multiprocessing.api import SignalException
        from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
        from torch.distributed.run import parse_args, run

        from dld.utils.tool_steps import exit_status, how_it_ended
    except KeyboardInterrupt:
        print(f'{name or "dist_launch"}: stopped by Ctrl-C as it started.', file=sys.stderr)
        return 128 + signal.SIGINT
    args = parse_args(argv)
    tool = osp.basename(args.training_script)
    if not (args.module or args.no_python) and not osp.isfile(args.training_script):
        # torchrun started the processes, each failing on the path
        print(f'{name or "dist_launch"}: {args.training_script}: no such file. DLD\'s tools '
              'are in its checkout (tools/train.py, tools/test.py), not in an installed dld: '
              'give the path of a checkout\'s tool', file=sys.stderr)
        return 2
    # a port torchrun binds itself: the static rendezvous's, on the first node
    port = args.master_port
    if (port is not None and not args.standalone and args.rdzv_backend == 'static'
            and str(args.node_rank) == '0' and port_in_use(port)):
        hint = (f'set PORT to a free one, e.g. PORT={port + 1} bash tools/{name} ...' if name
                else f'give a free one, e.g. --master_port {port + 1}')
        print(f'{name or "dist_launch"}: port {port} is in use (another distributed run?): '
              f'{hint}', file=sys.stderr)
        return 2
    quiet_torchrun_warnings()
    folder = tempfile.mkdtemp(prefix='dld_launch_')
    os.environ[LINES_ENV] = folder  # the processes inherit it
    os.environ[PID_ENV] = str(os.getpid())
    try:
        run(args)
    except ChildFailedError as err:
        kept, line = first_kept(folder)
        rank = reported_rank(kept, err.failures)
        own = kept_line(folder, rank)
        if rank != kept and rank != 0 and own and own != kept_line(folder, kept):
            line += own  # the reported process's own line, which nobody printed
        print(line, end='', file=sys.stderr)
        code = err.failures[rank].exitcode
        alone = str(args.nproc_per_node) == '1' and str(args.nnodes) == '1'
        print(f'{name or "dist_launch"}: {tool} on rank {rank} {how_it_ended(code)}'
              + ('' if alone else '; torchrun stopped the other processes (SIGTERM)'),
              file=sys.stderr, flush=True)
        return exit_status(code)
    except SignalException as err:  # the tool's first process said where it stopped
        return 128 + int(err.sigval)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def quiet_torchrun_warnings() -> None:
    """torchrun's own warnings as it stops the processes ("Sending process N
    closing signal", "Received 2 death signal"): the tool's line and the
    launcher's summary say it. Each module of torch's elastic package has a
    logger with a level of its own (its ``get_logger``), which the parent's
    level does not reach."""
    for name in ['torch.distributed.elastic', *logging.root.manager.loggerDict]:
        if name.startswith('torch.distributed.elastic'):
            logging.getLogger(name).setLevel(logging.ERROR)
    # its error as a process fails ("E1207 ... failed (exitcode: 2) local_rank: 1
    # (pid: N) of binary: ..."), between the tool's line and the launcher's, which
    # says the rank and its status: that record alone, its other errors kept
    api = logging.getLogger('torch.distributed.elastic.multiprocessing.api')
    if not any(isinstance(f, _FailedExitcodeFilter) for f in api.filters):
        api.addFilter(_FailedExitcodeFilter())


class _FailedExitcodeFilter(logging.Filter):
    """Drops torchrun's ``failed (exitcode: N) local_rank: R ...`` record."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith('failed (exitcode')


def end_with_launcher() -> None:
    """Under :func:`main`, have this process stopped (SIGTERM, through its
    clean-up) when the launcher dies: torchrun starts each process in a
    session of its own, and a ``kill -9`` of the launcher or its group left
    them training to the end, holding the work dir. Linux only (prctl)."""
    # read once: a tool this process starts (a hook's) is no child of the launcher
    launcher = os.environ.pop(PID_ENV, None)
    if not launcher or not sys.platform.startswith('linux'):
        return
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(launcher):  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def quiet_other_processes() -> None:
    """Under torchrun, let processes other than the first log only errors
    to the terminal until the runner's logger (which does the same) is
    made: every warning of reading the config came once per process."""
    if os.environ.get('RANK', '0') == '0':
        return
    from mmengine.logging import MMLogger
    for handler in MMLogger.get_current_instance().handlers:
        if type(handler) is logging.StreamHandler:  # not the run's log file
            handler.setLevel(max(handler.level, logging.ERROR))


if __name__ == '__main__':
    sys.exit(main())
