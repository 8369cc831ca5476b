"""Command-line options that change the LR schedule, applied as users mean them.

Every shipped config sets the learning rate with ``OneCycleLR(eta_max=...)``,
which ignores the optimizer's ``lr``: MMEngine's ``auto_scale_lr`` scales
only that ``lr``, and ``--cfg-options optim_wrapper.optimizer.lr=...``
changes nothing. And a schedule spans ``end`` epochs whatever
``train_cfg.max_epochs`` says, so a shorter run stops before it anneals.
"""
import logging
from typing import Iterable, List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from dld.utils.config_types import type_name

#: Schedulers that set the learning rate from their own peak, not the optimizer's lr.
PEAK_SCHEDULERS = ('OneCycleLR', )


def _schedulers(cfg: Config) -> List[dict]:
    schedulers = cfg.get('param_scheduler') or []
    return [schedulers] if isinstance(schedulers, dict) else list(schedulers)


def _sets_its_own_peak(scheduler: dict) -> bool:
    return type_name(scheduler.get('type', '')) in PEAK_SCHEDULERS


def _peak_schedulers(cfg: Config) -> List[dict]:
    return [s for s in _schedulers(cfg) if _sets_its_own_peak(s)]


def scale_one_cycle_peaks(cfg: Config, world_size: int) -> Optional[float]:
    """With ``auto_scale_lr.enable``, scale the peak (``eta_max``) of the
    config's one-cycle schedules as MMEngine scales the optimizer's ``lr``:
    by ``world_size x train batch size / auto_scale_lr.base_batch_size``.

    Returns the ratio applied, None when auto scaling is off.
    """
    auto = cfg.get('auto_scale_lr') or {}
    if not auto.get('enable'):
        return None
    batch_size = cfg.train_dataloader.batch_size
    ratio = world_size * batch_size / auto['base_batch_size']
    for scheduler in _peak_schedulers(cfg):
        peak = scheduler['eta_max']
        scaled = ([p * ratio for p in peak] if isinstance(peak, (list, tuple))
                  else peak * ratio)
        print_log(f'auto_scale_lr: {type_name(scheduler["type"])} eta_max {peak} -> {scaled} '
                  f'(x{ratio:g}: {world_size} process(es) x batch {batch_size} / base '
                  f'{auto["base_batch_size"]}); the schedule sets the learning rate from it.',
                  logger='current')
        scheduler['eta_max'] = scaled
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer')
    if _peak_schedulers(cfg) and isinstance(optimizer, dict) and \
            isinstance(optimizer.get('lr'), (int, float)):
        # OneCycleLR reads each parameter group's lr multiplier as its lr over
        # the optimizer's: MMEngine's Runner.scale_lr scales the groups' lr
        # but not the optimizer's, which read as a multiplier of ``ratio``
        # applied to the peak scaled above (ratio squared). Scaled here in
        # the config, the groups and the optimizer agree, and the runner
        # does not scale again.
        optimizer['lr'] = optimizer['lr'] * ratio
        cfg.auto_scale_lr.enable = False
    return ratio


def warn_lr_set_by_schedule(cfg: Config, options: Iterable[str]) -> None:
    """Warn when ``options`` (``--cfg-options`` keys) set the optimizer's
    ``lr`` that a one-cycle schedule of the config overrides."""
    if 'optim_wrapper.optimizer.lr' not in set(options):
        return
    for i, scheduler in enumerate(_schedulers(cfg)):
        if _sets_its_own_peak(scheduler):
            print_log(f'optim_wrapper.optimizer.lr changes nothing here: param_scheduler.{i} '
                      f'({type_name(scheduler["type"])}) sets the learning rate from its '
                      f'eta_max; set param_scheduler.{i}.eta_max instead.',
                      logger='current', level=logging.WARNING)
            return


def warn_schedule_outlasting_training(cfg: Config) -> None:
    """Warn when an epoch-based schedule ends after ``train_cfg.max_epochs``:
    the run stops before its learning rate anneals (a shorter
    ``--cfg-options train_cfg.max_epochs=N`` without ``param_scheduler.0.end=N``).
    Stopping early on purpose (to resume later) is allowed: a warning only."""
    max_epochs = (cfg.get('train_cfg') or {}).get('max_epochs')
    if max_epochs is None:
        return
    for i, scheduler in enumerate(_schedulers(cfg)):
        end = scheduler.get('end')
        if scheduler.get('by_epoch', True) and isinstance(end, (int, float)) \
                and end > max_epochs:
            gumbel = any(isinstance(h, dict) and type_name(h.get('type', '')).endswith(
                'GumbelTemperatureHook') for h in cfg.get('custom_hooks') or [])
            also = (' The selector\'s Gumbel temperature (GumbelTemperatureHook) anneals over '
                    'the train_cfg.max_epochs a run starts with, which a resumed run keeps, so '
                    'a run stopped early and resumed does not follow the same temperatures as '
                    'one run through.' if gumbel else '')
            print_log(f'param_scheduler.{i} ({type_name(scheduler.get("type"))}) ends at '
                      f'epoch {end}, '
                      f'after train_cfg.max_epochs={max_epochs}: the run stops before its '
                      f'learning rate anneals. For a shorter schedule set '
                      f'param_scheduler.{i}.end={max_epochs} too.{also}',
                      logger='current', level=logging.WARNING)
