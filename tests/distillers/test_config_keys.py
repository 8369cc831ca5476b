"""A misspelt key of DLDDistiller's dict options fails at build, naming the
key and what is allowed (docs/STYLE: an unknown key fails loudly)."""
import pytest
from log_records import current_log_records

from dld.registry import MODELS

from .conftest import tiny_dld_cfg


@pytest.mark.parametrize('option, value, match', [
    ('feature_levels', dict(backbone=1.0, encodr=0.0), r"feature_levels.*\['encodr'\]"),
    ('test_cfg', dict(force_scal=0.5), r"test_cfg.*\['force_scal'\]"),
    ('test_cfg', dict(decode='beam'), r"test_cfg.*\['decode'\].*student"),
])
def test_an_unknown_key_fails_at_build(teacher_ckpt, option, value, match):
    with pytest.raises(KeyError, match=match):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(), **{option: value}))


def test_known_keys_are_taken(teacher_ckpt):
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(),
                                      feature_levels=dict(encoder=0.5),
                                      test_cfg=dict(force_scale=0.5)))
    assert model.feature_levels == dict(backbone=1.0, encoder=0.5, decoder=1.0)
    assert model.test_cfg == dict(force_scale=0.5)


@pytest.mark.parametrize('overrides, error, match', [
    # a negative weight rewarded the distance (loss_feature -2.25), silently
    (dict(feature_levels=dict(encoder=-1.0)), ValueError,
     r'model\.feature_levels\.encoder must be a finite number >= 0, got -1\.0'),
    # a string failed in the first step with a traceback
    (dict(feature_levels=dict(backbone='high')), TypeError,
     r"model\.feature_levels\.backbone must be a number, got 'high'"),
    # smaller scales counted as costing more than full resolution
    (dict(cost='scale_pow', cost_power=-1.5), ValueError,
     r'model\.cost_power must be a number > 0'),
    (dict(unalignable_nll=-5.0), ValueError, r'model\.unalignable_nll must be a finite number'),
    (dict(base_size=[0, 144]), ValueError, r'model\.base_size must be \(H, W\) of two whole'),
    # "'<' not supported between instances of 'NoneType' and 'int'"
    (dict(skd_topk=None), TypeError, r'skd_topk must be an integer, got None'),
])
def test_a_setting_that_would_train_wrongly_fails_at_build_naming_it(teacher_ckpt, overrides,
                                                                     error, match):
    with pytest.raises(error, match=match):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(), **overrides))


def test_a_loss_s_refused_setting_names_its_role(teacher_ckpt):
    """"loss_weight must be a finite number >= 0" named none of the three
    losses that have one."""
    cfg = tiny_dld_cfg(teacher_ckpt=teacher_ckpt())
    cfg['losses']['skd']['loss_weight'] = -1.0
    with pytest.raises(ValueError, match=r'^model\.losses\.skd: .*loss_weight must be'):
        MODELS.build(cfg)


@pytest.mark.parametrize('overrides, error, match', [
    # a scale listed twice (or two of one input size) trained silently without
    # per-scale BatchNorm; with it the refusal named TextRecognizer.scale_norm
    (dict(scales=(1.0, 0.5, 0.5), student_scale_norm=False), ValueError,
     r'model\.scales: 0\.5 and 0\.5 both read 24x72'),
    (dict(scales=(1.0, 0.5, 0.501)), ValueError, r'model\.scales: 0\.5 and 0\.501 both read'),
    # 0 was taken as "not set": the default width, silently
    (dict(skd_beam_width=0), ValueError, r'skd_beam_width \(0\) must be >= skd_topk'),
    # "'list' object has no attribute 'items'"
    (dict(feature_levels=['backbone']), TypeError, r'model\.feature_levels is a dict'),
    (dict(connectors=['backbone']), TypeError, r'model\.connectors is a dict'),
    # built (with a warning of 0.3's statistics), then failed at the first validation
    (dict(test_cfg=dict(force_scale=0)), ValueError, r'model\.test_cfg\.force_scale must be'),
    (dict(test_cfg=dict(force_scale=float('nan'))), ValueError,
     r'model\.test_cfg\.force_scale must be'),
    # "Unknown format code 'g' for object of type 'str'"
    (dict(test_cfg=dict(force_scale='0.5')), ValueError, r'model\.test_cfg\.force_scale must'),
    # "could not convert string to float: 'x'"
    (dict(test_cfg=dict(reread=dict(min_score='x', scales=[1.0]))), ValueError,
     r'reread\.min_score is a probability'),
    # read one character at a time: "could not convert string to float: '.'"
    (dict(test_cfg=dict(reread=dict(min_score=0.9, scales='1.0'))), ValueError,
     r'reread\.scales must be a list'),
])
def test_a_nonsensical_setting_fails_at_build_naming_it(teacher_ckpt, overrides, error, match):
    with pytest.raises(error, match=match):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(), **overrides))


def test_a_forced_scale_above_one_is_taken_as_infer_s_scale_is(teacher_ckpt):
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(),
                                      test_cfg=dict(force_scale=2.0)))
    assert model.test_cfg == dict(force_scale=2.0)


def test_a_yes_no_setting_written_as_a_string_fails_at_build(teacher_ckpt):
    # 'False' is a non-empty string: the selector trained, silently
    with pytest.raises(TypeError, match=r"model\.train_selector is True or False, got 'False'"):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(), train_selector='False'))


def test_a_selector_with_one_scale_is_warned_of(teacher_ckpt):
    with current_log_records() as records:
        MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(), scales=(0.5, )))
    said = [r.getMessage() for r in records if 'nothing to choose' in r.getMessage()]
    assert len(said) == 1 and 'model.fixed_scale=0.5' in said[0]
