"""tools/train.py build_config: --auto-scale-lr and --amp against what the
config already says."""
import pytest
import torch


def _without_auto_scale_lr(tiny_teacher_config, tmp_path) -> str:
    """The tiny teacher's config with its schedule's ``auto_scale_lr`` removed."""
    config = tmp_path / 'no_auto_scale_lr.py'
    config.write_text(f'_base_ = [{tiny_teacher_config!r}]\n'
                      'auto_scale_lr = dict(_delete_=True, enable=False)\n')
    return str(config)


def test_auto_scale_lr_without_a_base_batch_size_names_the_config(tiny_teacher_config,
                                                                   train_tool, tmp_path):
    config = _without_auto_scale_lr(tiny_teacher_config, tmp_path)
    args = train_tool.parse_args([config, '--auto-scale-lr'])
    # a settings error, which train.py says in one line (a ValueError was a traceback)
    from dld.engine.runner_settings import ConfigSettingError
    with pytest.raises(ConfigSettingError, match=r'--auto-scale-lr needs `auto_scale_lr = '
                                         r'dict\(base_batch_size=N\)` in .*'
                                         r'no_auto_scale_lr\.py'):
        train_tool.build_config(args)


def test_without_the_flag_a_config_without_a_base_batch_size_is_no_error(
        tiny_teacher_config, train_tool, tmp_path):
    config = _without_auto_scale_lr(tiny_teacher_config, tmp_path)
    cfg = train_tool.build_config(train_tool.parse_args([config]))
    assert cfg.auto_scale_lr.enable is False


@pytest.mark.parametrize('wrapper', ['AmpOptimWrapper', 'BF16OptimWrapper'])
def test_amp_keeps_a_mixed_precision_wrapper_the_config_sets_and_says_so(
        tiny_teacher_config, train_tool, monkeypatch, wrapper):
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    logged = []
    monkeypatch.setattr(train_tool, 'print_log',
                        lambda msg, *args, **kwargs: logged.append(msg))
    args = train_tool.parse_args([tiny_teacher_config, '--amp', '--cfg-options',
                                  f'optim_wrapper.type={wrapper}'])
    cfg = train_tool.build_config(args)
    assert cfg.optim_wrapper.type == wrapper
    assert 'loss_scale' not in cfg.optim_wrapper  # not AmpOptimWrapper's options added
    assert f'Mixed precision is already on in the config ({wrapper}).' in logged


def test_amp_on_a_config_already_in_mixed_precision_still_validates_in_it(
        tiny_teacher_config, train_tool, monkeypatch):
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    wrapper = 'AmpOptimWrapper' if torch.cuda.is_available() else 'BF16OptimWrapper'
    args = train_tool.parse_args([tiny_teacher_config, '--amp', '--cfg-options',
                                  f'optim_wrapper.type={wrapper}'])
    cfg = train_tool.build_config(args)
    assert cfg.val_cfg.get('fp16') is True


def test_a_selector_stage_without_the_students_weights_is_refused(train_tool, tmp_path):
    """It trained the selector on an untrained student (or the teacher's copy)
    without a word (a failure-modes journey)."""
    from dld.engine.runner_settings import ConfigSettingError
    args = ['configs/dld_plate_hr_selector.py', '--work-dir', str(tmp_path)]
    with pytest.raises(ConfigSettingError, match=r'model.train_student=False freezes the '
                       r'student .* give --cfg-options load_from='):
        train_tool.build_config(train_tool.parse_args(args))
    cfg = train_tool.build_config(train_tool.parse_args(
        args + ['--cfg-options', 'load_from=work_dirs/dld_plate_hr/best.pth']))
    assert cfg.model.train_student is False
    (tmp_path / 'epoch_1.pth').write_bytes(b'')  # a selector stage resumed: its own weights
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    cfg = train_tool.build_config(train_tool.parse_args(args + ['--resume']))
    assert cfg.resume is True


def test_a_student_stage_whose_scales_an_untrained_selector_picks_is_refused(train_tool,
                                                                           tmp_path):
    """It ran, the untrained selector sending every image to one scale."""
    from dld.engine.runner_settings import ConfigSettingError
    args = ['configs/dld_plate_student_online_selector_scales.py', '--work-dir', str(tmp_path)]
    with pytest.raises(ConfigSettingError, match=r"student_stage_scales='selector' lets the "
                       r'frozen selector pick .* load_from=<a selector stage'):
        train_tool.build_config(train_tool.parse_args(args))
    cfg = train_tool.build_config(train_tool.parse_args(
        args + ['--cfg-options', 'load_from=work_dirs/dld_lr_selector/best.pth']))
    assert cfg.model.student_stage_scales == 'selector'
    # a student stage of uniform scales may start from the teacher's copy
    cfg = train_tool.build_config(train_tool.parse_args(
        ['configs/dld_plate_student.py', '--work-dir', str(tmp_path / 'uniform')]))
    assert cfg.model.train_selector is False and not cfg.load_from


def test_a_stage_whose_teacher_ckpt_is_gone_takes_the_teacher_its_load_from_holds(
        train_tool, tmp_path):
    """A selector stage was refused ('train one first') where the student
    stage's checkpoint given as load_from held the teacher (an efficiency
    journey); one without a teacher is still refused."""
    from unittest import mock

    from dld.models.distillers.teacher_checkpoint import check_config_teacher
    stage = tmp_path / 'student_stage.pth'
    torch.save(dict(state_dict={'teacher.backbone.w': torch.zeros(1),
                                'student.backbone.w': torch.zeros(1)}, meta={}), stage)
    bare = tmp_path / 'extracted.pth'
    torch.save(dict(state_dict={'student.backbone.w': torch.zeros(1)}, meta={}), bare)
    gone = str(tmp_path / 'teacher_plate_hr')

    def build(load_from):
        args = train_tool.parse_args([
            'configs/dld_plate_hr_selector.py', '--work-dir', str(tmp_path / 'work'),
            '--cfg-options', f'load_from={load_from}', f'model.teacher_ckpt={gone}'])
        with mock.patch.object(train_tool, 'print_log') as log:
            cfg = train_tool.build_config(args)
        return cfg, ' '.join(str(c.args[0]) for c in log.call_args_list)

    cfg, said = build(stage)
    assert cfg.model.teacher_ckpt is None
    assert f'model.teacher_ckpt ({gone}) is not there; load_from ({stage}) holds a teacher' \
        in said
    check_config_teacher(cfg)  # nothing left to refuse
    cfg, said = build(bare)
    assert cfg.model.teacher_ckpt == gone and not said
    with pytest.raises(FileNotFoundError, match='Teacher checkpoint not found'):
        check_config_teacher(cfg)
    # a teacher folder that asks to pick one of its best checkpoints, or a URL, is
    # not gone: the teacher check says what to do (the checkpoint's stood in; a review)
    import os
    os.makedirs(gone)
    for epoch in (3, 4):
        (tmp_path / 'teacher_plate_hr' / f'best_plate_accuracy_epoch_{epoch}.pth').write_bytes(b'')
    cfg, said = build(stage)
    assert cfg.model.teacher_ckpt == gone and not said
    gone = 'https://example.invalid/teacher.pth'
    cfg, said = build(stage)
    assert cfg.model.teacher_ckpt == gone and not said
