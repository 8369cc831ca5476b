"""Warns when the resolution selector sends (nearly) every image to one scale."""
import logging
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from dld.registry import HOOKS


@HOOKS.register_module()
class SelectorCollapseHook(Hook):
    """After each validation, reads ``ReadingCostMetric``'s ``<prefix>/share_<scale>``
    and warns once a trained selector has sent at least ``max_share`` of the
    validation images to one scale at ``patience`` validations in a row.

    Why: a collapsed selector is a fixed-scale model that costs a selector
    more; the plate accuracy alone does not show it. At the dearest scale the
    FLOPs penalty (``model.losses.selector.gamma``) buys nothing; at the
    cheapest it outweighs every misreading. The warning says which, and
    repeats only after the selector has spread its choices again.

    A student stage (``train_selector=False``) is not judged: its selector is
    frozen, untrained before any selector stage, and sends every image to the
    one scale its initialisation favours (docs/method.md). Nor is a run whose
    validation has no ``ReadingCostMetric``.

    Args:
        max_share: the share of one scale (in ``(0, 1]``) that counts as a collapse.
        patience: validations in a row (>= 1) before it warns.
        prefix: ``ReadingCostMetric``'s prefix.
    """

    priority = 'LOW'

    def __init__(self, max_share: float = 0.99, patience: int = 2, prefix: str = 'cost') -> None:
        if isinstance(max_share, bool) or not isinstance(max_share, (int, float)) or \
                not 0 < max_share <= 1:
            raise ValueError(f'SelectorCollapseHook.max_share is a share in (0, 1], got '
                             f'{max_share!r}')
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f'SelectorCollapseHook.patience is a whole number >= 1, got '
                             f'{patience!r}')
        self.max_share = float(max_share)
        self.patience = patience
        self.prefix = prefix
        self._streak = 0
        self._scale: Optional[str] = None

    def _shares(self, metrics: Optional[Dict]) -> Dict[str, float]:
        head = f'{self.prefix}/share_' if self.prefix else 'share_'
        return {k[len(head):]: float(v) for k, v in (metrics or {}).items()
                if k.startswith(head) and '/' not in k[len(head):]}

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'selector', None) is None or \
                getattr(model, 'train_selector', True) is False:
            return
        shares = self._shares(metrics)
        if len(shares) < 2:  # no cost metric, or a single candidate: nothing to choose
            return
        scale, share = max(shares.items(), key=lambda kv: kv[1])
        if share < self.max_share:
            self._streak, self._scale = 0, None
            return
        self._streak = self._streak + 1 if scale == self._scale else 1
        self._scale = scale
        if self._streak != self.patience:
            return
        by_size = sorted(shares, key=float)
        if scale == by_size[-1]:
            why = ('its dearest scale: the FLOPs penalty buys nothing; raise '
                   'model.losses.selector.gamma')
        elif scale == by_size[0]:
            why = ('its cheapest scale: the FLOPs penalty outweighs every misreading; '
                   'lower model.losses.selector.gamma')
        else:
            why = ('one scale for every image: it reads nothing in the thumbnail that '
                   'tells the images apart (a fixed scale would cost less)')
        print_log(
            f'The selector sent {share:.1%} of the validation images to {scale}x at '
            + ('the last validation' if self.patience == 1 else
               f'each of the last {self.patience} validations')
            + f': it has collapsed to {why} '
            f'(shares: {", ".join(f"{s}x {shares[s]:.1%}" for s in reversed(by_size))}).',
            logger='current', level=logging.WARNING)
