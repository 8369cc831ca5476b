"""Check what a run starts from before it loads it, however the run was started."""
import logging
from typing import Mapping

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop

from dld.registry import HOOKS

from ..resumed_settings import warn_of_changed_settings
from ..runner_settings import check_train_loop
from ..start_checkpoint import (
    check_frozen_parts_loaded,
    check_start_checkpoint,
    checkpoint_to_resume,
)

#: set on the runner once its start was checked (tools/train.py checks before
#: it builds the data loops; the hook then has nothing left to do)
CHECKED = '_dld_start_checked'
#: set on the runner whose weights were loaded without load_from
#: (tools/test.py loads the checkpoint itself, strictly)
WEIGHTS_LOADED = '_dld_weights_loaded'


def mark_weights_loaded(runner) -> None:
    """Say that the runner's model holds the weights to evaluate, loaded
    otherwise than by ``load_from``."""
    setattr(runner, WEIGHTS_LOADED, True)


def check_run_start(runner) -> None:
    """What ``tools/train.py`` checks of a training run before it starts:
    the loop's settings, the frozen parts of a stage loaded, and a
    ``load_from`` or resumed checkpoint that fits the model. Once per runner."""
    if runner._resume and runner._load_from is None and getattr(runner, CHECKED, None) is None:
        _resolve_auto_resume(runner)
    start = (runner._load_from, bool(runner._resume))
    if getattr(runner, CHECKED, None) == start:
        return
    # train_cfg, or the loop built from it (not built here: that builds the
    # data loader, which tools/train.py does later, saying its errors in one line)
    loop = runner._train_loop
    check_train_loop(dict(train_cfg=loop if isinstance(loop, Mapping) else {
        key: getattr(loop, key) for key in ('max_epochs', 'val_interval') if hasattr(loop, key)}))
    check_frozen_parts_loaded(runner.model, *start)
    meta = check_start_checkpoint(runner.model, *start, scheduled=bool(runner.param_schedulers))
    if start[1] and meta:
        go_on_with_resumed_seed(runner, meta.get('seed'))
        warn_of_changed_settings(runner, meta)
    setattr(runner, CHECKED, start)


def go_on_with_resumed_seed(runner, seed) -> None:
    """Seed the run with the seed of the run it resumes, before its data
    loaders are built. MMEngine restores that seed as it resumes, after the
    train sampler took the one this process drew (``randomness.seed=None``)
    or the config's: the resumed run read other batches than the unbroken
    one would have, without a word (105 of 217 weights differed)."""
    if seed is None or seed == runner.seed:
        return
    asked = runner._randomness_cfg.get('seed')
    if asked is not None:  # MMEngine, finding the seeds equal then, says nothing
        print_log(f'randomness.seed={asked} is not the seed of the run this one resumes '
                  f'({seed}): it goes on with {seed}, its batches as that run would have '
                  'drawn them.', logger='current', level=logging.WARNING)
    runner._randomness_cfg.update(seed=seed)
    runner.set_randomness(**runner._randomness_cfg)
    runner.dump_config()  # the work dir's copy says the seed it goes on with
    loop = runner._train_loop
    if isinstance(loop, BaseLoop):  # built already (MMEngine's Runner.train, this hook)
        sampler = getattr(loop.dataloader, 'sampler', None)
        if hasattr(sampler, 'seed'):
            sampler.seed = seed


def _resolve_auto_resume(runner) -> None:
    """``resume=True`` without ``load_from``: the checkpoint ``--resume``
    would continue, set as ``load_from`` so that it is checked (MMEngine
    found its own after every check: a run of other scales resumed without
    a word, a truncated or missing last checkpoint was a traceback), or no
    resume where the work dir holds none yet."""
    ckpt = checkpoint_to_resume(runner.work_dir)
    if ckpt is None:
        print_log(f'resume=True: no checkpoint in {runner.work_dir} yet; starting afresh.',
                  logger='current')
        runner._resume = False
    else:
        runner._load_from = ckpt


@HOOKS.register_module()
class StartCheckpointCheckHook(Hook):
    """Run :func:`check_run_start` where a run started from Python
    (``Runner.from_cfg(cfg).train()``, a notebook) did not: a selector stage
    without ``load_from`` trained on the teacher's copy of the student, a
    ``load_from`` sharing no weight with the model trained from random
    weights, ``val_interval=0`` failed after a whole epoch, each without a
    word from DLD.

    ``before_run`` comes before MMEngine loads ``load_from``. A run that only
    validates or tests (``runner.test()``) without ``load_from`` is told
    that it reads the weights as built.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        if isinstance(runner._train_loop, BaseLoop):  # built by train() only
            check_run_start(runner)
        elif not runner._load_from and not getattr(runner, WEIGHTS_LOADED, False):
            print_log('No load_from: the model is evaluated with its weights as built '
                      "(random, or its teacher's for a DLD student). Set load_from to the "
                      'checkpoint to evaluate.', logger='current', level=logging.WARNING)
