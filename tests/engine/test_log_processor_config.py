"""Logged DLD diagnostics are window means, like the losses they explain."""
import os.path as osp
import re

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_dld_diagnostics_are_averaged_over_the_log_window():
    cfg = Config.fromfile(osp.join(REPO, 'configs/dld_plate.py'))
    pattern = cfg.log_processor.mean_pattern
    # MMEngine shows keys not matching `mean_pattern` as the current value:
    # loss_selector (a mean) would then not equal selector_score + selector_flops.
    for key in ('loss', 'loss_selector', 'selector_score', 'selector_flops', 'mean_scale',
                'mean_rel_flops', 'time', 'grad_norm', 'teacher_top1_right', 'loss_at'):
        assert re.search(pattern, key), key
    assert not re.search(pattern, 'lr') and not re.search(pattern, 'gumbel_tau')
