"""DLDDistiller.forward's modes, and the selector settings refused at build."""
import copy

import pytest
import torch

from dld.registry import MODELS

from .conftest import plate_batch, tiny_dld_cfg


def build(**overrides):
    """The tiny DLD model for inference: no teacher checkpoint to read."""
    torch.manual_seed(0)
    return MODELS.build(tiny_dld_cfg(teacher_ckpt=None, **overrides))


def test_tensor_mode_returns_the_index_of_the_scale_each_image_is_read_at():
    model = build().eval()
    lr, _, samples = plate_batch(6)
    with torch.no_grad():
        chosen = model(lr, mode='tensor')
        read = model.predict(lr, copy.deepcopy(samples), reread={})
        logits = model.selector_logits(lr)
    assert chosen.dtype == torch.long and chosen.shape == (6, )
    assert torch.equal(chosen, logits.argmax(dim=-1))
    assert [model.scales[i] for i in chosen.tolist()] == [ds.pred_scale for ds in read]


def test_tensor_mode_without_a_selector_returns_the_fixed_scales_index():
    model = build(selector=None, fixed_scale=0.6).eval()
    lr, _, _ = plate_batch(3)
    assert model.scales == [0.6]
    assert torch.equal(model(lr, mode='tensor'), torch.zeros(3, dtype=torch.long))


def test_a_channels_last_batch_is_told_to_permute_not_to_change_base_size():
    """It said: set model.base_size=(144, 3)."""
    model = build().eval()
    _, _, samples = plate_batch(2)
    with pytest.raises(ValueError, match=r'inputs of 144x3 \(the batch is \(2, 48, 144, 3\), '
                       r'channels last: .*permute\(0, 3, 1, 2\) a batch'):
        model(torch.zeros(2, 48, 144, 3), samples, mode='predict')


def test_inputs_of_another_size_name_the_pipeline_first_in_one_line(capsys):
    """tools/test.py with a test pipeline left at another size ended in a
    40-line traceback advising model.base_size, wrong for a trained model."""
    from dld.engine.launch import data_errors_exit
    from dld.models.distillers.distiller_checks import InputSizeError
    model = build().eval()
    _, _, samples = plate_batch(2)
    with pytest.raises(InputSizeError) as err:
        model(torch.zeros(2, 3, 32, 128), samples, mode='predict')
    h, w = model.base_size
    assert f'set the pipeline\'s ResizePair to lr_size=({h}, {w})' in str(err.value)
    assert 'to train a model at 32x128, set model.base_size=(32, 128)' in str(err.value)
    with pytest.raises(SystemExit) as exit_, data_errors_exit('test.py'):
        model(torch.zeros(2, 3, 32, 128), samples, mode='predict')
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith('test.py: DLDDistiller(base_size=')


def test_counting_a_distillers_flops_points_at_its_costs():
    """count_flops(distiller) counted the tensor forward, the selector alone
    (0.18 of the student's 325 MFLOPs), without a word."""
    from dld.utils import count_flops
    model = build().eval()
    lr, _, _ = plate_batch(1)
    with pytest.raises(TypeError, match=r'count_flops\(DLDDistiller\): .*model\.costs'):
        count_flops(model, lr)
    # what it points at: the student at a scale, and the selector
    costs = model.costs
    assert costs.student_flops_at(0.6) == count_flops(model.student, model.resize(lr, 0.6))
    assert costs.selector_flops == count_flops(model.selector, lr)


@pytest.mark.parametrize('mode', ['feat', 'Predict', None])
def test_an_unknown_mode_is_refused_naming_the_modes(mode):
    model = build().eval()
    lr, _, samples = plate_batch(2)
    with pytest.raises(ValueError, match=rf'Invalid mode {mode!r}: expected loss, predict '
                                         'or tensor'):
        model(lr, samples, mode=mode)


def test_no_selector_and_no_fixed_scale_is_refused_naming_fixed_scale():
    with pytest.raises(ValueError, match=r'Without a selector, set `model.fixed_scale`'):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=None, selector=None))


def _without_selector_loss(**overrides) -> dict:
    cfg = tiny_dld_cfg(teacher_ckpt=None, **overrides)
    del cfg['losses']['selector']
    return cfg


def test_a_selector_to_train_without_a_selector_loss_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r'A selector needs `model.losses.selector` to be trained'):
        MODELS.build(_without_selector_loss())


def test_a_frozen_selector_needs_no_selector_loss():
    model = MODELS.build(_without_selector_loss(train_selector=False))
    assert model.selector is not None and model.selector_loss is None
    assert not any(p.requires_grad for p in model.selector.parameters())
