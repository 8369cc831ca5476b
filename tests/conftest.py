"""Suite-wide setup."""
import os
import os.path as osp

if os.environ.get('PYTEST_XDIST_WORKER'):
    # pytest -n N: one thread per worker, so that N workers share the cores
    # instead of each spinning N threads on them (a 10x slowdown measured),
    # and the subprocesses that tests start do so too.
    os.environ['OMP_NUM_THREADS'] = '1'
    import torch
    torch.set_num_threads(1)

import pytest
from mmengine.registry import DefaultScope
from plate_files import write_png

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def pytest_sessionstart(session):
    """Tests name configs and tools relative to the repository, as the docs'
    commands do: run from another directory, they read the repository's."""
    os.chdir(REPO)


def pytest_runtest_setup(item):
    """Loggers made in an earlier test under ``capsys`` write to its stream,
    closed once that test ended: the next message logged through them (the
    current MMEngine logger, before this test's fixtures make their own) was
    a "--- Logging error ---" traceback on stderr, which a test of stderr
    read as its output (met once in CI). Such handlers write to this
    process's stdout again, as MMEngine's console handler does."""
    import logging
    import sys

    from mmengine.logging import MMLogger
    for logger in list(MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and getattr(handler.stream, 'closed',
                                                                  False):
                handler.stream = sys.stdout  # setStream would flush the closed one


@pytest.fixture(autouse=True)
def dld_default_scope():
    """Every test builds in the ``dld`` scope.

    Runners and inferencers leave MMEngine's current default scope behind
    (a process-wide singleton); a later test's ``MODELS.build`` would then
    look in that scope's registry instead of DLD's.
    """
    with DefaultScope.overwrite_default_scope('dld'):
        yield


@pytest.fixture(autouse=True)
def stop_signal_handlers_kept():
    """Every test ends with the stop signals' handlers it began with: a stop
    run in-process leaves a hang-up ignored (its terminal is gone), and the
    worker's later tests, their child processes too, ignored theirs."""
    import signal
    names = ('SIGINT', 'SIGTERM', 'SIGHUP')
    before = {n: signal.getsignal(getattr(signal, n)) for n in names if hasattr(signal, n)}
    yield
    for name, handler in before.items():
        if handler is not None and signal.getsignal(getattr(signal, name)) != handler:
            signal.signal(getattr(signal, name), handler)


@pytest.fixture
def paired_root(tmp_path):
    """Two 3-frame tracks with LR (20x60) and HR (40x120) frames."""
    root = tmp_path / 'plates'
    lines = []
    for t, text in enumerate(['ABC1234', 'XYZ9A87']):
        lr = [f't{t}/lr-{k}.png' for k in range(3)]
        hr = [f't{t}/hr-{k}.png' for k in range(3)]
        for p in lr:
            write_png(str(root / p), 20, 60)
        for p in hr:
            write_png(str(root / p), 40, 120)
        lines.append(f"{','.join(lr)}|{','.join(hr)}\t{text}")
    (root / 'train.txt').write_text('\n'.join(lines) + '\n')
    return root


#: Session fixtures that train a model on first use (minutes on 2 cores): a
#: test that uses one, directly or through another fixture, is slow.
TRAINING_FIXTURES = ('tiny_run', )


def pytest_collection_modifyitems(items):
    for item in items:
        if any(name in getattr(item, 'fixturenames', ()) for name in TRAINING_FIXTURES):
            item.add_marker(pytest.mark.slow)
