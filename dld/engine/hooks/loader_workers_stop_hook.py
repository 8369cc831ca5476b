"""Stop the data loaders' persistent workers when a run ends."""
import contextlib

from mmengine.hooks import Hook

from dld.registry import HOOKS


def stop_loader_workers(loader) -> bool:
    """Stop ``loader``'s persistent workers now; a later epoch starts new
    ones. Returns whether there were any."""
    iterator = getattr(loader, '_iterator', None)
    shutdown = getattr(iterator, '_shutdown_workers', None)
    if shutdown is None:  # no persistent workers, or none started yet
        return False
    shutdown()
    loader._iterator = None
    return True


def stop_run_loader_workers(runner) -> None:
    """Stop the persistent workers of ``runner``'s train, val and test loaders."""
    # The loops' attributes, not runner.train_loop: that would build an
    # unbuilt loop (and its loader) only to stop it.
    for loop in (runner._train_loop, runner._val_loop, runner._test_loop):
        stop_loader_workers(getattr(loop, 'dataloader', None))


def worker_exit_codes(loader) -> dict:
    """``{pid: exit code}`` of ``loader``'s persistent workers: PyTorch says
    only that a worker "exited unexpectedly" where the reader was waiting
    for its batch, and the code tells whether a SIGTERM to the process group
    killed it (a stop) or something else did."""
    iterator = getattr(loader, '_iterator', None)
    return {worker.pid: worker.exitcode for worker in getattr(iterator, '_workers', ())}


def loader_worker_exit_codes(runner) -> dict:
    """:func:`worker_exit_codes` of ``runner``'s train, val and test loaders."""
    codes = {}
    for loop in (runner._train_loop, runner._val_loop, runner._test_loop):
        codes.update(worker_exit_codes(getattr(loop, 'dataloader', None)))
    return codes


@contextlib.contextmanager
def loader_workers_stopped(runner):
    """Stop ``runner``'s loader workers when the block leaves, by an error
    too: ``after_run`` (the hook below) is skipped by a run that raises, and
    its workers then wait for the garbage collector (see the hook)."""
    try:
        yield
    finally:
        stop_run_loader_workers(runner)


@HOOKS.register_module()
class LoaderWorkersStopHook(Hook):
    """Stop the persistent workers of the run's train, val and test loaders
    when it ends (``train()``, ``val()`` or ``test()``).

    Why: a finished runner and its loaders sit in reference cycles, so
    Python's cyclic collector finalizes them later, in whatever runs next in
    the process (the quickstart's second run, a notebook's next cell, a
    test). Finalized there, torch's shutdown cannot reach workers whose
    queues were collected first, and waits 5 s for each worker before it
    kills it: 10 s per loader of two workers. Stopped here they exit at
    once. A run that raises skips ``after_run``: ``tools/train.py`` and
    ``tools/test.py`` run it in :func:`loader_workers_stopped`.
    """

    priority = 'LOWEST'

    def after_run(self, runner) -> None:
        stop_run_loader_workers(runner)
