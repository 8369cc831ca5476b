"""torchrun for ``tools/dist_train.sh`` and ``tools/dist_test.sh``, ending as
the tools end: in one line, with the tool's exit status.

torchrun ended every failure with a traceback of its own (a
``ChildFailedError`` of about 25 lines, below the tool's message, printed
once per process) and exit status 1, whatever the tool's: a refusal (2) or a
stop by Ctrl-C (130) read to a scheduler as a crash. Here the processes
other than the first keep their last line in a file of the launcher's
(:func:`keep_for_launcher`); the launcher prints the line of the process
that failed first where that was not the first process, then one line of
its own, and exits with that process's status (128 + the signal for a
signal). A port another run holds is said before anything starts.

    python -m dld.engine.dist_launch [torchrun arguments] TOOL [tool arguments]
"""
import errno
import os
import os.path as osp
import shutil
import socket
import sys
import tempfile
from typing import List, Optional

#: The folder where processes other than the first keep their last line.
LINES_ENV = 'DLD_LAUNCHER_LINES'
#: The name the launcher's lines start with (the shell script's).
NAME_ENV = 'DLD_LAUNCHER_NAME'


def keep_for_launcher(line: str) -> bool:
    """Keep ``line`` for the launcher rather than print it, in a process
    other than the first one under :mod:`dld.engine.dist_launch`; False
    (print it) anywhere else."""
    folder, rank = os.environ.get(LINES_ENV), os.environ.get('RANK')
    if not folder or rank in (None, '0'):
        return False
    try:
        with open(osp.join(folder, f'rank{rank}.txt'), 'a', encoding='utf-8') as f:
            f.write(line + '\n')
    except OSError:  # the folder went: print it after all
        return False
    return True


def _kept(folder: str, rank: int) -> str:
    try:
        with open(osp.join(folder, f'rank{rank}.txt'), encoding='utf-8') as f:
            return f.read()
    except OSError:
        return ''


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
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    from dld.utils.tool_steps import how_it_ended
    name = os.environ.get(NAME_ENV, 'dist_launch')
    args = parse_args(argv)
    tool = osp.basename(args.training_script)
    port = args.master_port or 29500
    if str(args.node_rank) == '0' and args.rdzv_backend == 'static' and port_in_use(port):
        print(f'{name}: port {port} is in use (another distributed run?): set PORT to a free '
              f'one, e.g. PORT={port + 1} bash tools/{name} ...', file=sys.stderr)
        return 2
    folder = tempfile.mkdtemp(prefix='dld_launch_')
    os.environ[LINES_ENV] = folder  # the workers inherit it
    try:
        run(args)
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        print(_kept(folder, rank), end='', file=sys.stderr)
        code = failure.exitcode
        print(f'{name}: {tool} on rank {rank} {how_it_ended(code)}; the other processes were '
              'stopped', file=sys.stderr, flush=True)
        return code if code > 0 else 128 - code
    except SignalException as err:  # the tool's first process said where it stopped
        return 128 + int(err.sigval)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
