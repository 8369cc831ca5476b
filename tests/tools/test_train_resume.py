"""tools/train.py: resuming continues exactly as an uninterrupted run."""
import json
import os
import os.path as osp
import re
import subprocess
from unittest import mock

import pytest
import torch
from mmengine.hooks import Hook

import dld.engine  # noqa: F401  (allow-list for torch.load below)
from dld.registry import HOOKS

# On a GPU, cuDNN's and atomic-add kernels differ from run to run unless
# deterministic ones are asked for: a resume cannot be more exact than that.
EXACT = ('randomness.deterministic=True', ) if torch.cuda.is_available() else ()


def _train(train_tool, config, work_dir, name, *extra):
    train_tool.main([config, '--work-dir', str(work_dir),
                     '--cfg-options', f'experiment_name={name}', *EXACT, *extra])


def _assert_same_tensors(a, b, where):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same_tensors(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tensors(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


@pytest.mark.slow
def test_resume_after_2_epochs_matches_3_uninterrupted(tiny_teacher_config, train_tool,
                                                       run_name, tmp_path):
    straight, broken = tmp_path / 'straight', tmp_path / 'broken'
    _train(train_tool, tiny_teacher_config, straight, run_name())
    # Same config (the LR schedule still spans 3 epochs), stopped after 2 ...
    _train(train_tool, tiny_teacher_config, broken, run_name(),
           'train_cfg.max_epochs=2')
    assert not osp.exists(broken / 'epoch_3.pth')
    # ... then `--resume` with no path finds epoch_2.pth and runs epoch 3.
    train_tool.main([tiny_teacher_config, '--work-dir', str(broken), '--resume',
                     '--cfg-options', f'experiment_name={run_name()}', *EXACT])

    a = torch.load(straight / 'epoch_3.pth', map_location='cpu', weights_only=True)
    b = torch.load(broken / 'epoch_3.pth', map_location='cpu', weights_only=True)
    assert a['meta']['epoch'] == b['meta']['epoch'] == 3
    assert a['meta']['iter'] == b['meta']['iter']
    # the HR crops the teacher config trains on, recorded by the resumed run too
    assert a['meta']['input_size'] == b['meta']['input_size'] == [48, 144]
    _assert_same_tensors(a['state_dict'], b['state_dict'], 'state_dict')
    _assert_same_tensors(a['optimizer'], b['optimizer'], 'optimizer')
    _assert_same_tensors(a['param_schedulers'], b['param_schedulers'], 'param_schedulers')


# The tiny teacher on its plates on disk, augmented and read by two persistent
# workers, as the schedule's runs are: the workers seed their generators once
# per process, so only the per-item seeds (seed_pipeline, EpochOffsetSampler)
# make the resumed epoch draw what the unbroken one drew.
AUGMENTED_ON_DISK = '''
_base_ = [{tiny!r}]
train_dataloader = dict(num_workers=2, persistent_workers=True,
                        dataset=dict(pipeline=_base_.hr_train_pipeline))
'''


@pytest.mark.slow
def test_augmented_plates_on_disk_through_persistent_workers_resume_exactly(
        tiny_teacher_config, train_tool, run_name, tmp_path):
    config = tmp_path / 'augmented.py'
    config.write_text(AUGMENTED_ON_DISK.format(tiny=tiny_teacher_config))
    straight, broken = tmp_path / 'straight', tmp_path / 'broken'
    _train(train_tool, str(config), straight, run_name())
    _train(train_tool, str(config), broken, run_name(), 'train_cfg.max_epochs=2')
    train_tool.main([str(config), '--work-dir', str(broken), '--resume',
                     '--cfg-options', f'experiment_name={run_name()}', *EXACT])
    a = torch.load(straight / 'epoch_3.pth', map_location='cpu', weights_only=True)
    b = torch.load(broken / 'epoch_3.pth', map_location='cpu', weights_only=True)
    _assert_same_tensors(a['state_dict'], b['state_dict'], 'state_dict')


@pytest.mark.slow
def test_resume_from_an_explicit_checkpoint_and_best_link(tiny_teacher_config, train_tool,
                                                          run_name, tmp_path):
    _train(train_tool, tiny_teacher_config, tmp_path, run_name(), 'train_cfg.max_epochs=1')
    ckpt = tmp_path / 'epoch_1.pth'
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read().strip() == str(ckpt)
    # The best checkpoint (by plate/accuracy) is reachable as best.pth.
    best = tmp_path / 'best.pth'
    assert osp.islink(best)
    assert os.readlink(best) == 'best_plate_accuracy_epoch_1.pth'
    assert 'state_dict' in torch.load(best, map_location='cpu', weights_only=True)

    train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path), '--resume', str(ckpt),
                     '--cfg-options', f'experiment_name={run_name()}',
                     'train_cfg.max_epochs=2'])
    resumed = torch.load(tmp_path / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert resumed['meta']['epoch'] == 2


@pytest.mark.parametrize('native_bf16, wrapper', [(False, 'OptimWrapper'),
                                                   (True, 'BF16OptimWrapper')])
def test_amp_on_cpu_uses_bfloat16_only_where_the_cpu_has_it(
        tiny_teacher_config, train_tool, monkeypatch, native_bf16, wrapper):
    """Emulated bfloat16 is slower than float32, so --amp is then a warning."""
    if torch.cuda.is_available():
        pytest.skip('checks the CPU choice')
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: native_bf16)
    cfg = train_tool.build_config(train_tool.parse_args([tiny_teacher_config, '--amp']))
    assert cfg.optim_wrapper.type == wrapper
    assert bool(cfg.val_cfg.get('fp16')) is native_bf16


def test_amp_refuses_to_replace_a_custom_optim_wrapper(tiny_teacher_config, train_tool,
                                                       monkeypatch):
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    args = train_tool.parse_args([tiny_teacher_config, '--amp', '--cfg-options',
                                  'optim_wrapper.type=MyOptimWrapper'])
    with pytest.raises(ValueError, match="tiny_teacher.py uses 'MyOptimWrapper'"):
        train_tool.build_config(args)


@pytest.mark.parametrize('option, says', [
    ('train_cfg.val_interval=0', 'val_interval must be an integer >= 1'),
    ('train_cfg.max_epochs=0', r'max_epochs must be an integer >= 1 \(epochs to train\)'),
    ('auto_scale_lr.base_batchsize=16', 'did you mean base_batch_size'),
    ('train_dataloader.batchsize=2', "train_dataloader takes no 'batchsize'"),
])
def test_settings_mmengine_reads_late_are_checked_before_training(
        tiny_teacher_config, train_tool, option, says):
    # val_interval=0 trained a whole epoch before a ZeroDivisionError
    args = train_tool.parse_args([tiny_teacher_config, '--cfg-options', option])
    with pytest.raises(ValueError, match=says):
        train_tool.build_config(args)


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_refused_setting_ends_the_tool_with_one_line_and_status_2(
        tiny_teacher_config, load_tool, tool, capsys):
    args = [tiny_teacher_config] + (['unused.pth'] if tool == 'test' else [])
    with pytest.raises(SystemExit) as exit_info:
        load_tool(tool).main(args + ['--cfg-options', 'train_cgf.max_epochs=1'])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{tool}.py: --cfg-options train_cgf.max_epochs: the config has no 'train_cgf'" in err
    assert 'Traceback' not in err


def test_amp_run_trains_in_bfloat16_and_checkpoints_float32(tiny_teacher_config, train_tool,
                                                            run_name, tmp_path, monkeypatch):
    """A real --amp epoch on the CPU: the convolutions run in bfloat16, the
    checkpoint (weights and AdamW state) stays float32, and validation runs
    in bfloat16 as well."""
    if torch.cuda.is_available():
        pytest.skip('checks the CPU path')
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    seen, seen_in_eval = set(), set()
    conv_forward = torch.nn.Conv2d.forward

    def recording_forward(self, x):
        out = conv_forward(self, x)
        (seen if self.training else seen_in_eval).add(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Conv2d, 'forward', recording_forward)
    _train(train_tool, tiny_teacher_config, tmp_path, run_name(), 'train_cfg.max_epochs=1',
           '--amp')
    assert seen == {torch.bfloat16}
    assert seen_in_eval == {torch.bfloat16}
    ckpt = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu', weights_only=True)
    floats = [v for v in ckpt['state_dict'].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float32 for v in floats)
    moments = [v for state in ckpt['optimizer']['state'].values() for v in state.values()
               if torch.is_tensor(v) and v.dim() > 0]
    assert moments and all(v.dtype == torch.float32 for v in moments)
    assert all(torch.isfinite(v).all() for v in floats)


def test_cli_flags_reach_the_config(tiny_teacher_config, train_tool, tmp_path):
    args = train_tool.parse_args([
        tiny_teacher_config, '--work-dir', str(tmp_path), '--resume', '--auto-scale-lr',
        '--cfg-options', 'optim_wrapper.optimizer.lr=0.5'])
    cfg = train_tool.build_config(args)
    assert cfg.work_dir == str(tmp_path)
    assert cfg.resume is False and cfg.load_from is None  # nothing to resume yet: afresh
    assert cfg.auto_scale_lr.enable is True
    assert cfg.optim_wrapper.optimizer.lr == 0.5
    assert cfg.default_scope == 'dld'

    cfg = train_tool.build_config(train_tool.parse_args([tiny_teacher_config, '--resume',
                                                         'x.pth']))
    assert cfg.resume is True and cfg.load_from == 'x.pth'
    assert cfg.work_dir == osp.join('./work_dirs', 'tiny_teacher')


def test_resume_before_the_first_checkpoint_keeps_load_from(tiny_teacher_config, train_tool,
                                                            tmp_path):
    """A student cycle (`load_from=<joint run>`) stopped in its first epoch
    and run again with --resume starts from those weights, not random ones."""
    argv = [tiny_teacher_config, '--work-dir', str(tmp_path), '--resume',
            '--cfg-options', 'load_from=joint/best.pth']
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    assert cfg.load_from == 'joint/best.pth' and not cfg.resume
    # Once the run has a checkpoint, --resume continues it.
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'epoch_1.pth')


@pytest.mark.parametrize('pointer', ['', 'elsewhere/epoch_9.pth', None])
def test_resume_with_a_broken_pointer_takes_the_newest_checkpoint(tiny_teacher_config,
                                                                  train_tool, tmp_path,
                                                                  pointer):
    """MMEngine rewrites `last_checkpoint` with a plain open(): a kill then
    leaves it empty. The checkpoints are whole, so --resume takes the newest."""
    for name in ('epoch_2.pth', 'epoch_10.pth', 'best_plate_accuracy_epoch_2.pth'):
        (tmp_path / name).write_bytes(b'')
    if pointer is not None:
        (tmp_path / 'last_checkpoint').write_text(pointer)
    cfg = train_tool.build_config(train_tool.parse_args(
        [tiny_teacher_config, '--work-dir', str(tmp_path), '--resume']))
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'epoch_10.pth')


def test_resume_follows_a_moved_work_dir(tiny_teacher_config, train_tool, tmp_path):
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        (tmp_path / name).write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text('/old/place/of/the/run/epoch_1.pth')
    cfg = train_tool.build_config(train_tool.parse_args(
        [tiny_teacher_config, '--work-dir', str(tmp_path), '--resume']))
    assert cfg.load_from == str(tmp_path / 'epoch_1.pth')


def test_resume_in_a_copied_work_dir_continues_the_copys_checkpoint(tiny_teacher_config,
                                                                   train_tool, tmp_path):
    """The copy's pointer names the original's checkpoint, which is still
    there: resuming the copy read the original's."""
    original, copy = tmp_path / 'run', tmp_path / 'copy'
    for work in (original, copy):
        work.mkdir()
        (work / 'epoch_1.pth').write_bytes(b'')
        (work / 'last_checkpoint').write_text(str(original / 'epoch_1.pth'))
    for work in (original, copy):
        cfg = train_tool.build_config(train_tool.parse_args(
            [tiny_teacher_config, '--work-dir', str(work), '--resume']))
        assert cfg.load_from == str(work / 'epoch_1.pth')


class Killed(Exception):
    """Stands for the process dying."""


@HOOKS.register_module(force=True)
class KilledInValidationHook(Hook):
    """Dies in the first validation iteration while the file ``flag`` exists,
    and removes it: one crash mid-validation, then runs as usual. Keeps the
    metrics of each validation that finishes."""

    metrics = []

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if osp.exists(self.flag):
            os.remove(self.flag)
            raise Killed(f'killed validating epoch {runner.epoch}')

    def after_val_epoch(self, runner, metrics=None) -> None:
        KilledInValidationHook.metrics.append((runner.epoch, dict(metrics)))


KILLED_IN_VALIDATION = '''
_base_ = [{tiny!r}]
custom_hooks = [dict(type='KilledInValidationHook', flag={flag!r})]
'''


@pytest.mark.slow
def test_a_run_killed_in_its_last_validation_validates_it_on_resume(
        tiny_teacher_config, train_tool, run_name, tmp_path):
    KilledInValidationHook.metrics = []
    flag = tmp_path / 'kill-in-validation'
    flag.touch()
    config = tmp_path / 'killed.py'
    config.write_text(KILLED_IN_VALIDATION.format(tiny=tiny_teacher_config, flag=str(flag)))
    work = tmp_path / 'work'
    with pytest.raises(Killed):
        _train(train_tool, str(config), work, run_name(), 'train_cfg.max_epochs=1')
    assert osp.isfile(work / 'epoch_1.pth')  # saved before the validation died
    assert not osp.lexists(work / 'best.pth') and not KilledInValidationHook.metrics

    train_tool.main([str(config), '--work-dir', str(work), '--resume',
                     '--cfg-options', f'experiment_name={run_name()}', 'train_cfg.max_epochs=1'])
    [(epoch, metrics)] = KilledInValidationHook.metrics
    assert epoch == 1 and 'plate/accuracy' in metrics
    assert os.readlink(work / 'best.pth') == 'best_plate_accuracy_epoch_1.pth'
    best = torch.load(work / 'best.pth', map_location='cpu', weights_only=True)
    last = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    _assert_same_tensors(best['state_dict'], last['state_dict'], 'state_dict')
    # The checkpoint holds the final score, as after an unbroken run.
    assert last['message_hub']['runtime_info']['best_score'] == metrics['plate/accuracy']
    with open(work / 'last_validation.json') as f:
        assert json.load(f)['epoch'] == 1


KILL_HOOK_MODULE = '''
import os
from mmengine.hooks import Hook
from dld.registry import HOOKS


@HOOKS.register_module()
class KilledInValidationWithEnvHook(Hook):
    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if os.environ.get('KILL_IN_VALIDATION'):
            raise SystemExit('killed validating')
'''

KILLED_IN_VALIDATION_DIST = '''
_base_ = [{tiny!r}]
custom_imports = dict(imports=['kill_in_validation'], allow_failed_imports=False)
custom_hooks = [dict(type='KilledInValidationWithEnvHook')]
'''


@pytest.mark.slow
def test_two_processes_killed_in_the_last_validation_validate_it_on_resume(
        tiny_teacher_config, tmp_path, free_port):
    """Rank 0 decides for both ranks; both validate (a rank that did not
    would leave the other waiting in the metric's gather)."""
    import subprocess
    import sys
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    (tmp_path / 'kill_in_validation.py').write_text(KILL_HOOK_MODULE)
    config = tmp_path / 'killed_dist.py'
    config.write_text(KILLED_IN_VALIDATION_DIST.format(tiny=tiny_teacher_config))
    work = tmp_path / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='',
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')]))

    def torchrun(*extra, **env_extra):
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
               '--master-addr', '127.0.0.1', '--master-port', str(free_port()),
               osp.join(repo, 'tools', 'train.py'), str(config), '--launcher', 'pytorch',
               '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1', *extra]
        return subprocess.run(cmd, cwd=repo, env=dict(env, **env_extra), capture_output=True,
                              text=True, timeout=300)

    proc = torchrun(KILL_IN_VALIDATION='1')
    assert proc.returncode != 0 and osp.isfile(work / 'epoch_1.pth')
    assert not osp.lexists(work / 'best.pth')
    proc = torchrun('--resume')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert os.readlink(work / 'best.pth') == 'best_plate_accuracy_epoch_1.pth'
    with open(work / 'last_validation.json') as f:
        assert json.load(f)['epoch'] == 1


@pytest.mark.slow
def test_resuming_with_other_iterations_per_epoch_stops_before_its_first_step(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys):
    """Resumed by another number of processes (here: another batch size), the
    schedule would end at the wrong step; the run refuses instead, in one
    line (it was a traceback)."""
    _train(train_tool, tiny_teacher_config, tmp_path, run_name(), 'train_cfg.max_epochs=1')
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        _train(train_tool, tiny_teacher_config, tmp_path, run_name(),
               'train_dataloader.batch_size=2', '--resume')
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'train.py: Resumed at epoch 1 of a run of 2 iterations per epoch, but this one ' \
        'has 4' in err and 'Traceback' not in err
    assert not osp.exists(tmp_path / 'epoch_2.pth')
    _train(train_tool, tiny_teacher_config, tmp_path, run_name(), '--resume')  # same: goes on
    assert osp.isfile(tmp_path / 'epoch_3.pth')


@pytest.mark.slow
def test_auto_scale_lr_scales_the_one_cycle_peak(tiny_teacher_config, train_tool, run_name,
                                                  tmp_path):
    train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path), '--auto-scale-lr',
                     '--cfg-options', f'experiment_name={run_name()}', 'train_cfg.max_epochs=1',
                     *EXACT])
    ckpt = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu', weights_only=True)
    # batch 4 of base_batch_size 32, one process: the peak 1e-3 becomes 1e-3 / 8
    assert ckpt['optimizer']['param_groups'][0]['max_lr'] == pytest.approx(1e-3 / 8)


@HOOKS.register_module(force=True)
class FilesAtSaveHook(Hook):
    """The work dir's checkpoints as each save begins."""
    seen = []

    def before_save_checkpoint(self, runner, checkpoint):
        FilesAtSaveHook.seen.append(
            sorted(f for f in os.listdir(runner.work_dir) if f.startswith('epoch_')))


def test_keeping_one_checkpoint_removes_the_old_one_after_the_new_is_saved(
        tiny_teacher_config, train_tool, run_name, tmp_path):
    """MMEngine removed the kept checkpoint before writing the next: with
    max_keep_ckpts=1, a kill or a full disk in between left nothing to
    resume from (a failure-modes journey)."""
    FilesAtSaveHook.seen = []
    config = tmp_path / 'keep_one.py'
    config.write_text(f"_base_ = [{tiny_teacher_config!r}]\n"
                      "custom_hooks = [dict(type='FilesAtSaveHook')]\n"
                      "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, save_best=None))\n")
    work = tmp_path / 'work'
    _train(train_tool, str(config), work, run_name(), 'train_cfg.max_epochs=2')
    assert FilesAtSaveHook.seen == [[], ['epoch_1.pth']]
    assert sorted(f for f in os.listdir(work) if f.endswith('.pth')) == ['epoch_2.pth']


def test_resume_with_a_pointer_to_a_gone_checkpoint_and_none_left_starts_afresh(
        tiny_teacher_config, train_tool, tmp_path):
    """MMEngine followed the stale pointer itself and failed (FileNotFoundError)."""
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    cfg = train_tool.build_config(train_tool.parse_args(
        [tiny_teacher_config, '--work-dir', str(tmp_path), '--resume']))
    assert cfg.resume is False and not cfg.get('load_from')


def test_resume_where_only_an_earlier_runs_best_checkpoint_is_left_is_refused(
        tiny_teacher_config, train_tool, tmp_path, capsys):
    """It started afresh and replaced the best checkpoint (a resume journey:
    the epoch checkpoints deleted to save space)."""
    (tmp_path / 'best_plate_accuracy_epoch_3.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    for option in (['--resume'], ['--cfg-options', 'resume=True']):
        with pytest.raises(SystemExit) as exit_:
            train_tool.build_config(train_tool.parse_args(
                [tiny_teacher_config, '--work-dir', str(tmp_path), *option]))
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert ('holds no checkpoint to continue (epoch_N.pth, iter_N.pth) but '
                'best_plate_accuracy_epoch_3.pth, of this run or an earlier one, which a run '
                'started afresh there would replace') in err


def test_resume_true_as_a_setting_resumes_as_resume_does(tiny_teacher_config, train_tool,
                                                        tmp_path):
    """MMEngine's own auto-resume found its checkpoint after every check:
    a run of other scales resumed, a truncated one was a traceback."""
    argv = [tiny_teacher_config, '--work-dir', str(tmp_path), '--cfg-options', 'resume=True']
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    assert cfg.resume is False  # nothing saved yet: afresh
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text('')  # a kill while MMEngine rewrote it
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'epoch_1.pth')


def test_a_resumed_dld_run_whose_teacher_file_is_gone_goes_on_with_the_saved_one(
        train_tool, tmp_path):
    """It was refused ('train one first') though a resume reads nothing of it."""
    config = tmp_path / 'dld.py'
    config.write_text("_base_ = ['{}']\nmodel = dict(teacher_ckpt='{}')\n".format(
        osp.abspath('configs/quickstart/dld.py'), tmp_path / 'gone' / 'best.pth'))
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    cfg = train_tool.build_config(train_tool.parse_args(
        [str(config), '--work-dir', str(tmp_path), '--resume']))
    assert cfg.resume is True and cfg.model.teacher_ckpt is None
    # not resumed, it is refused as before
    cfg = train_tool.build_config(train_tool.parse_args([str(config), '--work-dir',
                                                         str(tmp_path / 'new')]))
    assert cfg.model.teacher_ckpt == str(tmp_path / 'gone' / 'best.pth')


@HOOKS.register_module(force=True)
class PoisonWeightsHook(Hook):
    """A step that diverges: the first weight becomes NaN before iteration ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            with torch.no_grad():
                next(runner.model.parameters()).fill_(float('nan'))


def test_a_run_that_diverges_stops_before_a_checkpoint_holds_it(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys):
    """It went on with loss nan, scored 0 % and rotated good checkpoints out
    (a failure-modes journey); now it stops, naming the last good one, in
    one line (a traceback from each process, a distributed journey)."""
    config = tmp_path / 'diverges.py'
    config.write_text(f"_base_ = [{tiny_teacher_config!r}]\n"
                      "custom_hooks = [dict(type='PoisonWeightsHook', at=2)]\n")
    work = tmp_path / 'work'
    with pytest.raises(SystemExit) as exit_:
        _train(train_tool, str(config), work, run_name())
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert re.search(r'train\.py: Training diverged at epoch 2, iteration 3: the loss is nan\. '
                     r'.*the last checkpoint, .*epoch_1\.pth, was saved', err)
    assert 'Traceback' not in err
    assert sorted(f for f in os.listdir(work) if f.startswith('epoch_')) == ['epoch_1.pth']
    state = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert all(v.isfinite().all() for v in state['state_dict'].values()
               if v.is_floating_point())


def test_resuming_with_a_changed_model_stops_before_training(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys):
    """It validated a half-loaded model, then failed in the optimiser with an
    unrelated size error (a failure-modes journey)."""
    work = tmp_path / 'work'
    _train(train_tool, tiny_teacher_config, work, run_name(), 'train_cfg.max_epochs=1')
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([tiny_teacher_config, '--work-dir', str(work), '--resume',
                         '--cfg-options', f'experiment_name={run_name()}',
                         'model.decoder.d_model=16', 'model.encoder.d_model=16'])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'train.py: the checkpoint --resume continues' in err
    assert 'was saved by another model' in err and 'Traceback' not in err


def test_a_finished_run_resumed_for_more_epochs_says_its_schedule_has_ended(
        tiny_teacher_config, train_tool, run_name, tmp_path, monkeypatch):
    """The extra epochs trained at 4e-9, silently (a failure-modes journey):
    a resumed run keeps the schedule its checkpoint was saved with."""
    from dld.engine.hooks import resumed_schedule_check_hook as hook
    said = []
    monkeypatch.setattr(hook, 'print_log', lambda msg, **kwargs: said.append(msg))
    work = tmp_path / 'work'
    _train(train_tool, tiny_teacher_config, work, run_name())  # its 3 epochs, 6 iterations
    assert not said
    train_tool.main([tiny_teacher_config, '--work-dir', str(work), '--resume', '--cfg-options',
                     f'experiment_name={run_name()}', *EXACT])  # finished: nothing to do
    assert said == ['Resumed after epoch 3, and train_cfg.max_epochs=3 ends the run there: '
                    'nothing is left to train. To train longer, start a new schedule from '
                    'its weights (load_from=CHECKPOINT in a new work dir, without --resume).']
    said.clear()
    train_tool.main([tiny_teacher_config, '--work-dir', str(work), '--resume', '--cfg-options',
                     f'experiment_name={run_name()}', *EXACT, 'train_cfg.max_epochs=4',
                     'param_scheduler.0.end=4'])
    changed, warning = said
    assert changed.startswith("Resumed with param_scheduler settings other than the "
                              "checkpoint's run (param_scheduler.0.end: 3 -> 4): a resumed run "
                              'restores the schedulers its checkpoint saved')
    assert warning.startswith('The learning-rate schedule ends at iteration 6 (epoch 3), '
                              'before training does (iteration 8, epoch 4): from there the '
                              'learning rate stays at ')
    assert 'A resumed run keeps the schedule its checkpoint was saved with' in warning
    # a setting of the schedule changed, not its length: silently unused before
    said.clear()
    train_tool.main([tiny_teacher_config, '--work-dir', str(work), '--resume', '--cfg-options',
                     f'experiment_name={run_name()}', *EXACT, 'param_scheduler.0.eta_max=0.5'])
    assert len(said) == 2 and "(param_scheduler.0.eta_max: 0.001 -> 0.5)" in said[0], said


@HOOKS.register_module(force=True)
class SigtermAtHook(Hook):
    """``kill`` (SIGTERM, or ``signal``) from outside, before iteration ``at``."""

    def __init__(self, at: int, signal: str = 'SIGTERM') -> None:
        self.at = at
        self.signal = signal

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            import signal
            os.kill(os.getpid(), signal.Signals[self.signal])


@pytest.mark.parametrize('name, status, said', [
    ('SIGTERM', 143, 'SIGTERM'),  # 128 + SIGTERM, as the shell reports a killed job
    # a closed terminal killed the run without a word (a distributed journey)
    ('SIGHUP', 129, 'SIGHUP (its terminal closed)')])
def test_sigterm_stops_the_run_as_ctrl_c_does_and_says_where(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys, monkeypatch, name, status,
        said):
    """It died at once, saying nothing, its data workers left running."""
    import signal

    from dld.utils import stop_signals
    # this process's terminal, where pytest runs in one, is not gone
    monkeypatch.setattr(stop_signals, '_off_the_closed_terminal', lambda: None)
    config = tmp_path / 'killed.py'
    config.write_text(f"_base_ = [{tiny_teacher_config!r}]\n"
                      f"custom_hooks = [dict(type='SigtermAtHook', at=3, signal={name!r})]\n")
    work = tmp_path / 'work'
    before = signal.getsignal(signal.Signals[name])
    with pytest.raises(SystemExit) as exit_:
        _train(train_tool, str(config), work, run_name())
    assert exit_.value.code == status
    err = capsys.readouterr().err
    # the epoch's iteration, as MMEngine's log counts it (the run's 4th of 2 a epoch)
    assert (f'train.py: stopped by {said} at epoch 2, iteration 2 of 2; --resume continues from '
            f'{work / "epoch_1.pth"}.') in err
    # the process's handler again; after a hang-up, a hang-up again is ignored
    assert signal.getsignal(signal.Signals[name]) == (
        signal.SIG_IGN if name == 'SIGHUP' else before)
    signal.signal(signal.Signals[name], before)
    assert not [f for f in os.listdir(work) if f.endswith('.tmp')]


def test_a_stop_while_validating_names_the_epoch_validated(train_tool, tmp_path):
    """It said 'at epoch 2, iteration 11' of a run stopped while validating
    epoch 1 (the epoch counter moves on before validation)."""
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    from mmengine.runner import EpochBasedTrainLoop
    hub = MessageHub.get_instance('stop-line-check')
    (tmp_path / 'epoch_1.pth').write_bytes(b'x')
    hub.update_info('last_ckpt', str(tmp_path / 'epoch_1.pth'))
    runner = SimpleNamespace(message_hub=hub, epoch=1, iter=10, work_dir=str(tmp_path),
                             _train_loop=object.__new__(EpochBasedTrainLoop))
    hub.update_info('loop_stage', 'val')
    assert train_tool.stop_line(runner, 'SIGTERM') == (
        'train.py: stopped by SIGTERM while validating epoch 1; --resume continues from '
        f"{tmp_path / 'epoch_1.pth'}.")
    hub.update_info('loop_stage', 'train')
    # the epoch's length not known (no loop): the run's count, said so
    assert 'at epoch 2, iteration 11 of the run;' in train_tool.stop_line(runner, 'SIGTERM')
    # stopped while epoch 2's checkpoint was written: MMEngine had recorded
    # its name, a file a stop leaves none of; --resume reads epoch 1's
    hub.update_info('last_ckpt', str(tmp_path / 'epoch_2.pth'))
    assert train_tool.stop_line(runner, 'SIGTERM').endswith(
        f"--resume continues from {tmp_path / 'epoch_1.pth'}.")
    # resumed from another work dir's checkpoint and stopped before saving one: a bare
    # --resume started afresh where the line named that file (a resume journey)
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'epoch_2.pth').write_bytes(b'x')
    hub.update_info('last_ckpt', str(other / 'epoch_2.pth'))
    fresh = tmp_path / 'fresh'
    fresh.mkdir()
    runner.work_dir = str(fresh)
    assert train_tool.stop_line(runner, 'SIGTERM').endswith(
        f"--resume {other / 'epoch_2.pth'} continues from it (a bare --resume reads {fresh}, "
        'and finds no checkpoint there).')


def test_a_stop_before_any_validation_says_there_is_no_best_checkpoint(train_tool, tmp_path):
    """The shipped DLD configs validate at their last epoch: a run stopped
    before it has no best.pth, which the next stage's commands name."""
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    from mmengine.runner import EpochBasedTrainLoop

    from dld.engine.hooks import AtomicCheckpointHook
    hub = MessageHub.get_instance('stop-line-best')
    (tmp_path / 'epoch_1.pth').write_bytes(b'x')
    hub.update_info('last_ckpt', str(tmp_path / 'epoch_1.pth'))
    hub.update_info('loop_stage', 'train')
    hook = AtomicCheckpointHook(interval=1, save_best='auto')
    runner = SimpleNamespace(message_hub=hub, epoch=1, iter=10, work_dir=str(tmp_path),
                             _train_loop=object.__new__(EpochBasedTrainLoop), hooks=[hook])
    assert train_tool.stop_line(runner, 'SIGTERM').endswith(
        f"--resume continues from {tmp_path / 'epoch_1.pth'}. No epoch was validated yet, so "
        'there is no best.pth: the last checkpoint is the one to test or extract.')
    (tmp_path / 'best.pth').symlink_to('epoch_1.pth')
    assert train_tool.stop_line(runner, 'SIGTERM').endswith(
        f"--resume continues from {tmp_path / 'epoch_1.pth'}.")
    runner.hooks = [AtomicCheckpointHook(interval=1)]  # no save_best: no best to miss
    (tmp_path / 'best.pth').unlink()
    assert train_tool.stop_line(runner, 'SIGTERM').endswith(
        f"--resume continues from {tmp_path / 'epoch_1.pth'}.")


def _by_iteration(path, epoch, it, per_epoch=4):
    """A checkpoint by iteration as an epoch-based run saves it: where it
    stands (by iteration, ``epoch`` is the one it was saved in) and the
    run's iterations per epoch."""
    torch.save(dict(meta=dict(epoch=epoch, iter=it),
                    message_hub=dict(runtime_info={'dld_iters_per_epoch': per_epoch})),
               str(path))


def test_a_stop_after_a_checkpoint_within_an_epoch_names_one_that_resumes(train_tool, tmp_path):
    """With checkpoints every 2 of an epoch's 4 iterations, the line named
    iter_6.pth, which --resume refuses (saved within epoch 2): the newest
    that resumes is named (a reproducibility journey). iter_4.pth, saved
    after epoch 1's last iteration but before its end, resumes not: the
    epoch would train again."""
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    from mmengine.runner import EpochBasedTrainLoop
    hub = MessageHub.get_instance('stop-within-epoch')
    for n in (2, 4, 6):
        _by_iteration(tmp_path / f'iter_{n}.pth', (n - 1) // 4, n)
    hub.update_info('last_ckpt', str(tmp_path / 'iter_6.pth'))
    hub.update_info('loop_stage', 'train')
    loop = object.__new__(EpochBasedTrainLoop)
    runner = SimpleNamespace(message_hub=hub, epoch=1, iter=6, work_dir=str(tmp_path),
                             _train_loop=loop, train_loop=SimpleNamespace(dataloader=[0] * 4))
    assert 'iter_4.pth' not in train_tool.stop_line(runner, 'SIGINT')
    _by_iteration(tmp_path / 'iter_4.pth', 1, 4)  # recorded at an epoch's end (resumes)
    # which a bare --resume takes too
    assert train_tool.stop_line(runner, 'SIGINT').endswith(
        f"--resume continues from {tmp_path / 'iter_4.pth'}.")
    _by_iteration(tmp_path / 'iter_8.pth', 2, 8)  # an epoch's end: resumable as it is
    hub.update_info('last_ckpt', str(tmp_path / 'iter_8.pth'))
    assert train_tool.stop_line(runner, 'SIGINT').endswith(
        f"--resume continues from {tmp_path / 'iter_8.pth'}.")


def test_a_bare_resume_steps_back_from_a_checkpoint_within_an_epoch(tiny_teacher_config,
                                                                     train_tool, tmp_path):
    """It took iter_6.pth, saved within epoch 2, and then refused it: it
    takes the newest checkpoint that resumes, and says so."""
    for n, epoch in ((4, 1), (6, 1)):
        _by_iteration(tmp_path / f'iter_{n}.pth', epoch, n)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_6.pth'))
    with mock.patch('dld.engine.start_checkpoint.print_log') as warn:
        cfg = train_tool.build_config(train_tool.parse_args(
            [tiny_teacher_config, '--work-dir', str(tmp_path), '--resume']))
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'iter_4.pth')
    said = ' '.join(str(c.args[0]) for c in warn.call_args_list)
    assert 'iter_6.pth was saved within epoch 2 (after iteration 2 of its 4' in said
    assert 'iter_4.pth is the newest that resumes (the 2 iteration(s) after it train again)' \
        in said
    _by_iteration(tmp_path / 'iter_4.pth', 0, 4)  # saved before epoch 1's end: none resumes
    cfg = train_tool.build_config(train_tool.parse_args(
        [tiny_teacher_config, '--work-dir', str(tmp_path), '--resume']))
    assert cfg.load_from == str(tmp_path / 'iter_6.pth')  # the resume says what to do


def test_the_stop_line_names_no_other_checkpoint_where_resume_takes_the_last(
        train_tool, tmp_path):
    """An iteration-based run resumes any iter_N.pth (only an epoch-based one
    refuses those within an epoch); an earlier, longer run's epoch_5.pth in
    the work dir is no checkpoint of this run's."""
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
    for n in (2, 4, 6):  # an iteration-based run records no epoch length
        torch.save(dict(meta=dict(epoch=0, iter=n)), str(tmp_path / f'iter_{n}.pth'))
    hub = MessageHub.get_instance('stop-iter-based')
    hub.update_info('last_ckpt', str(tmp_path / 'iter_6.pth'))
    hub.update_info('loop_stage', 'train')
    loader = SimpleNamespace(dataloader=[0] * 4)
    runner = SimpleNamespace(message_hub=hub, epoch=0, iter=6, work_dir=str(tmp_path),
                             _train_loop=object.__new__(IterBasedTrainLoop), train_loop=loader)
    assert train_tool.stop_line(runner, 'SIGINT').endswith(
        f"--resume continues from {tmp_path / 'iter_6.pth'}.")
    (tmp_path / 'epoch_5.pth').write_bytes(b'x')  # an earlier run's, past this one's iter 6
    runner.epoch, runner._train_loop = 1, object.__new__(EpochBasedTrainLoop)
    for n in (4, 6):  # iter_4.pth the last of a 1-epoch run resumed for more
        _by_iteration(tmp_path / f'iter_{n}.pth', 1, n)
    assert f"--resume {tmp_path / 'iter_4.pth'} continues from it" in \
        train_tool.stop_line(runner, 'SIGINT')


def test_a_stop_before_training_builds_no_loop_for_its_line(train_tool, tmp_path):
    """The sets are built inside the stop handling (build_data_loops): a stop
    there built the training set again for the line (runner.train_loop, a
    scan of every track folder), which then named an iteration."""
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    class Unbuilt(SimpleNamespace):
        @property
        def train_loop(self):
            raise AssertionError('the train loop was built')

    (tmp_path / 'iter_3.pth').write_bytes(b'x')  # a resumed run's, within an epoch
    hub = MessageHub.get_instance('stop-before-training')
    hub.update_info('last_ckpt', str(tmp_path / 'iter_3.pth'))
    runner = Unbuilt(message_hub=hub, epoch=0, iter=3, work_dir=str(tmp_path),
                     _train_loop=dict(type='EpochBasedTrainLoop', max_epochs=2))
    assert ' before training; ' in train_tool.stop_line(runner, 'SIGINT')


@HOOKS.register_module(force=True)
class SigtermToWorkersAtHook(Hook):
    """A SIGTERM to the process group as the data loader's workers see it:
    sent by another process (``kill -- -PGID``), which PyTorch reports as
    their death, before iteration ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            workers = runner.train_loop.dataloader._iterator._workers
            subprocess.run(['kill', '-TERM', *(str(w.pid) for w in workers)], check=True)
            for w in workers:
                w.join(10)


def test_sigterm_to_the_process_group_stops_the_run_as_sigterm_does(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys):
    """The workers' death was a RuntimeError traceback and exit status 1."""
    config = tmp_path / 'group_killed.py'
    config.write_text(f"_base_ = [{tiny_teacher_config!r}]\n"
                      "train_dataloader = dict(num_workers=1, persistent_workers=True)\n"
                      "custom_hooks = [dict(type='SigtermToWorkersAtHook', at=3)]\n")
    work = tmp_path / 'work'
    with pytest.raises(SystemExit) as exit_:
        _train(train_tool, str(config), work, run_name())
    assert exit_.value.code == 143
    err = capsys.readouterr().err
    # the workers' death is seen at once or after the batches already read
    assert re.search(r'train\.py: stopped by SIGTERM at epoch \d, iteration \d+ of \d+; --resume '
                     rf'continues from {re.escape(str(work))}/epoch_\d\.pth\.', err), err
    assert 'Traceback' not in err


def test_a_worker_terminated_while_the_run_waits_for_a_batch_is_a_sigterm_stop():
    """PyTorch then raises "exited unexpectedly" from the worker's own error."""
    from dld.utils.stop_signals import stop_signal
    try:
        try:
            raise RuntimeError('DataLoader worker (pid 15291) is killed by signal: Terminated.')
        except RuntimeError as killed:
            raise RuntimeError('DataLoader worker (pid(s) 15291) exited unexpectedly') from killed
    except RuntimeError as err:
        assert stop_signal(err) == 'SIGTERM'
    exited = RuntimeError('DataLoader worker (pid(s) 7, 9) exited unexpectedly')
    assert stop_signal(exited, {7: 0, 9: -15}) == 'SIGTERM'
    assert stop_signal(exited, {7: 0, 9: -9}) is None  # killed for memory, say
    assert stop_signal(KeyboardInterrupt()) == 'SIGINT'


GROUP_KILL_HOOK = '''
import os
import subprocess
import sys
import time

from mmengine.hooks import Hook

from dld.registry import HOOKS


@HOOKS.register_module()
class GroupSigtermAtHook(Hook):
    """kill -- -PGID (torchrun, scancel) at iteration ``at``: the run and its workers."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:  # from another process, as a scheduler sends it
            subprocess.Popen([sys.executable, '-c', 'import os, signal, time; time.sleep(0.3); '
                              f'os.killpg({os.getpgid(0)}, signal.SIGTERM)'])
            time.sleep(5)
'''


@pytest.mark.parametrize('persistent', [True, False])
def test_sigterm_to_the_whole_process_group_is_one_line_and_143(tiny_teacher_config, tmp_path,
                                                                persistent):
    """After its line the run printed PyTorch's traceback for the workers the
    same signal killed (SIGCHLD) and exited 1."""
    import sys
    (tmp_path / 'group_kill_hook.py').write_text(GROUP_KILL_HOOK)
    config = tmp_path / 'group.py'
    config.write_text(f"_base_ = [{tiny_teacher_config!r}]\n"
                      "custom_imports = dict(imports=['group_kill_hook'], "
                      "allow_failed_imports=False)\n"
                      f"train_dataloader = dict(num_workers=2, persistent_workers={persistent})\n"
                      "custom_hooks = [dict(type='GroupSigtermAtHook', at=3)]\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    done = subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir',
                           str(tmp_path / 'work')], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600, start_new_session=True)
    assert done.returncode == 143, done.stderr[-3000:]
    assert re.search(r'train\.py: stopped by SIGTERM at epoch 2, iteration 2 of 2;', done.stderr)
    assert 'Traceback' not in done.stderr and 'Exception ignored' not in done.stderr


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_work_dir_the_run_cannot_write_is_one_line_and_status_2(
        tiny_teacher_config, load_tool, tmp_path, capsys, tool):
    """MMEngine's traceback making its log folder (a read-only mount, a path
    through a file)."""
    (tmp_path / 'a_file').write_text('')
    work = tmp_path / 'a_file' / 'run'
    (tmp_path / 'ckpt.pth').write_bytes(b'')
    argv = [tiny_teacher_config] + ([str(tmp_path / 'ckpt.pth')] if tool == 'test' else []) + [
        '--work-dir', str(work)]
    with pytest.raises(SystemExit) as exit_:
        load_tool(tool).main(argv)
    assert exit_.value.code == 2
    # the tool's own last line (a traceback ends with the exception's)
    assert capsys.readouterr().err.splitlines()[-1] == (
        f'{tool}.py: cannot make the work dir {work}: Not a directory; give another with '
        '--work-dir')
    # the work dir a file itself: said so, not MMEngine's 'File exists' (a resume journey)
    argv[-1] = str(tmp_path / 'a_file')
    with pytest.raises(SystemExit) as exit_:
        load_tool(tool).main(argv)
    assert exit_.value.code == 2 and capsys.readouterr().err.splitlines()[-1] == (
        f"{tool}.py: the work dir {tmp_path / 'a_file'} is a file, not a folder; give another "
        'with --work-dir')
    # a folder it may not write in (a read-only mount; root writes through chmod)
    from unittest import mock
    argv[-1] = str(tmp_path)
    with mock.patch('os.access', return_value=False), pytest.raises(SystemExit) as exit_:
        load_tool(tool).main(argv)
    assert exit_.value.code == 2 and capsys.readouterr().err.splitlines()[-1] == (
        f'{tool}.py: cannot write in the work dir {tmp_path} (read-only?); give another with '
        '--work-dir')


def test_a_fresh_run_in_a_work_dir_of_checkpoints_says_it_replaces_them(train_tool, tmp_path,
                                                                        monkeypatch):
    """A second run in the same work dir replaced epoch_1.pth and best.pth
    without a word (a newcomer's journey)."""
    from mmengine.config import Config
    said = []
    monkeypatch.setattr(train_tool, 'print_log', lambda msg, **kw: said.append(msg))
    work = tmp_path / 'w'
    work.mkdir()
    train_tool._note_earlier_run(Config(dict(work_dir=str(work))))
    assert said == []  # nothing there yet
    (work / 'epoch_1.pth').write_bytes(b'x')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    train_tool._note_earlier_run(Config(dict(work_dir=str(work), resume=True)))
    assert said == []  # --resume goes on from it
    train_tool._note_earlier_run(Config(dict(work_dir=str(work))))
    assert said == [f"{work} holds an earlier run's checkpoints (epoch_1.pth): this run starts "
                    'afresh and replaces them as it saves; --resume goes on from them instead']
    # a shorter run leaves the earlier run's later epochs beside its own (a sweep's journey)
    said.clear()
    (work / 'epoch_4.pth').write_bytes(b'x')
    train_tool._note_earlier_run(Config(dict(work_dir=str(work), train_cfg=dict(max_epochs=2))))
    assert len(said) == 1 and said[0].endswith(
        "its epochs past this run's 2 (to epoch_4.pth) and its best_*.pth stay beside this "
        "run's: give each run its own work dir")


def test_a_stop_while_an_epoch_s_checkpoint_is_saved_is_said_so(train_tool):
    """'at epoch 1, iteration 9 of the run' of an 8-iteration epoch (a
    resume journey: stopped in the epoch's checkpoint save)."""
    from types import SimpleNamespace

    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
    loop = object.__new__(EpochBasedTrainLoop)
    loop.dataloader = [0] * 8
    runner = SimpleNamespace(train_loop=loop, epoch=0, iter=8)
    assert train_tool._iteration_in_epoch(runner) == \
        'as it ended, after its 8 iterations (its checkpoint, its hooks)'
    runner.iter = 7
    assert train_tool._iteration_in_epoch(runner) == 'iteration 8 of 8'
    # an iteration-based run's epoch stays 0: its 9th iteration is the run's
    loop = object.__new__(IterBasedTrainLoop)
    loop.dataloader = [0] * 8
    runner = SimpleNamespace(train_loop=loop, epoch=0, iter=8)
    assert train_tool._iteration_in_epoch(runner) == 'iteration 9 of the run'


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_work_dir_that_is_the_config_s_folder_is_refused_and_the_config_kept(
        tiny_teacher_config, load_tool, tmp_path, capsys, tool):
    """MMEngine's dump of the whole config (some 600 lines) replaced the
    user's config of a few lines, _base_ and comments, without a word."""
    folder = tmp_path / 'mine'
    folder.mkdir()
    config = folder / 'teacher.py'
    config.write_text(f'_base_ = [{tiny_teacher_config!r}]  # my settings\n')
    (tmp_path / 'ckpt.pth').write_bytes(b'')
    argv = [str(config)] + ([str(tmp_path / 'ckpt.pth')] if tool == 'test' else []) + [
        '--work-dir', str(folder)]
    with pytest.raises(SystemExit) as exit_:
        load_tool(tool).main(argv)
    assert exit_.value.code == 2 and capsys.readouterr().err.splitlines()[-1] == (
        f'{tool}.py: the work dir {folder} holds the config being read, {config}: a run writes '
        'its whole config into its work dir under that name, which would replace yours (its '
        '_base_ and comments); give another work dir with --work-dir, e.g. work_dirs/teacher')
    assert config.read_text() == f'_base_ = [{tiny_teacher_config!r}]  # my settings\n'
    # a work dir's own dump, read again (a resume from it), is no config to keep
    from mmengine.config import Config
    Config.fromfile(str(config)).dump(str(config))
    from dld.engine.launch import unwritable_work_dir
    assert unwritable_work_dir(str(folder), str(config)) is None
    # edited (more epochs, a comment) and resumed from: rewritten as before (a review)
    config.write_text(config.read_text() + 'max_epochs = 5  # two more\n')
    assert unwritable_work_dir(str(folder), str(config), resume=True) is None
    assert 'its comments and layout' in unwritable_work_dir(str(folder), str(config))


@pytest.mark.slow
def test_a_run_of_a_drawn_seed_resumes_exactly(tiny_teacher_config, train_tool, run_name,
                                               tmp_path):
    """randomness.seed=None: MMEngine restored the drawn seed as it resumed,
    after the train sampler took the one the resuming process drew, so the
    resumed run read other batches (its weights differed)."""
    straight, broken = tmp_path / 'straight', tmp_path / 'broken'
    _train(train_tool, tiny_teacher_config, straight, run_name(), 'randomness.seed=None')
    broken.mkdir()
    (broken / 'epoch_2.pth').write_bytes((straight / 'epoch_2.pth').read_bytes())
    _train(train_tool, tiny_teacher_config, broken, run_name(), 'randomness.seed=None',
           '--resume', str(broken / 'epoch_2.pth'))
    a = torch.load(straight / 'epoch_3.pth', map_location='cpu', weights_only=True)
    b = torch.load(broken / 'epoch_3.pth', map_location='cpu', weights_only=True)
    assert a['meta']['seed'] == b['meta']['seed']
    _assert_same_tensors(a['state_dict'], b['state_dict'], 'state_dict')
    # the work dir's copy of the config says the seed drawn (it said None: run
    # again, it drew another), the resumed run's the seed it went on with
    from mmengine.config import Config
    name = osp.basename(tiny_teacher_config)
    for work in (straight, broken):
        assert Config.fromfile(str(work / name)).randomness.seed == a['meta']['seed']


@pytest.mark.slow
def test_resuming_within_an_epoch_is_refused_before_its_first_step(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys):
    """The epoch started again at its first batch while the count went on:
    batches trained twice, the run ended past its schedule, without a word."""
    by_iter = ('default_hooks.checkpoint.by_epoch=False', 'default_hooks.checkpoint.interval=1',
               'default_hooks.checkpoint.max_keep_ckpts=-1')
    _train(train_tool, tiny_teacher_config, tmp_path, run_name(), 'train_cfg.max_epochs=1',
           *by_iter)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        _train(train_tool, tiny_teacher_config, tmp_path, run_name(), *by_iter,
               '--resume', str(tmp_path / 'iter_1.pth'))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert ('train.py: The checkpoint this run resumes was saved within epoch 1, after '
            'iteration 1 of its 2 (iteration 1 of the run)') in err and 'Traceback' not in err
    assert not osp.exists(tmp_path / 'iter_3.pth')
    # from an epoch's end it goes on
    _train(train_tool, tiny_teacher_config, tmp_path, run_name(), *by_iter,
           '--resume', str(tmp_path / 'iter_2.pth'))
    assert osp.isfile(tmp_path / 'iter_6.pth') and not osp.exists(tmp_path / 'iter_7.pth')


@pytest.mark.slow
@pytest.mark.parametrize('where, code, then', [
    ('scalars', 28, 'once there is room'),  # a full disk as the log's scalars are written
    ('checkpoint', 27, 'where files of its size may be written (ulimit -f)'),
    ('scalars', 30, 'once the work dir can be written'),  # a file system remounted read-only
])
def test_a_file_of_the_run_that_cannot_be_written_ends_it_in_one_line(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys, monkeypatch, where, code,
        then):
    """A full disk was one line at a checkpoint's save only: as MMEngine
    wrote the scalars' file, a traceback of 35 lines, naming neither the
    file nor what to resume from."""
    from mmengine.visualization.vis_backend import LocalVisBackend

    from dld.engine.checkpoint import AtomicLocalBackend
    _train(train_tool, tiny_teacher_config, tmp_path, run_name(), 'train_cfg.max_epochs=1')
    capsys.readouterr()
    failing = osp.join(str(tmp_path), 'x', 'scalars.json') if where == 'scalars' else None

    def no_scalars(self, value_dict, file_path, *args, **kwargs):
        raise OSError(code, os.strerror(code), failing)

    write = AtomicLocalBackend._atomic_write

    def no_checkpoint(data, filepath, mode):
        if not filepath.endswith('epoch_2.pth'):
            return write(data, filepath, mode)

        def refused(fd):  # as the file's last bytes are written out
            raise OSError(code, os.strerror(code))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, 'fsync', refused)
            return write(data, filepath, mode)

    if where == 'scalars':
        monkeypatch.setattr(LocalVisBackend, '_dump', no_scalars)
    else:
        monkeypatch.setattr(AtomicLocalBackend, '_atomic_write', staticmethod(no_checkpoint))
    with pytest.raises(SystemExit) as exit_:
        _train(train_tool, tiny_teacher_config, tmp_path, run_name(), '--resume')
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith('train.py: Cannot write ') and os.strerror(code) in last, err[-3000:]
    assert last.endswith(f'--resume continues from {tmp_path / "epoch_1.pth"} {then}.')
    assert 'Traceback' not in err


def test_resuming_a_run_augmented_by_its_workers_generators_says_it_is_not_exact(
        train_tool, capsys):
    """The quickstart teacher (seed_pipeline=False, 2 workers): a config
    comment only said that its resume reads other augmentations. The built
    sets are asked: the online set seeds its items by default (its configs
    do not say so), a wrapper's sets are its own."""
    from types import SimpleNamespace

    from mmengine.dataset import ConcatDataset
    from mmengine.logging import MMLogger

    from dld.datasets import OnlineSynthPlateDataset
    MMLogger.get_instance('resume_note', log_level='INFO')

    def runner(seeded, workers=2):
        sets = [OnlineSynthPlateDataset(num_plates=4, seed_pipeline=s, pipeline=[])
                for s in seeded]
        return SimpleNamespace(train_dataloader=SimpleNamespace(
            dataset=ConcatDataset(sets), num_workers=workers))

    train_tool.note_augmentations_drawn_anew(runner([True, False]))
    assert 'OnlineSynthPlateDataset with seed_pipeline=False' in capsys.readouterr().out
    train_tool.note_augmentations_drawn_anew(runner([True, True]))  # the default: seeded
    train_tool.note_augmentations_drawn_anew(runner([False], workers=0))  # one generator
    assert 'augmentations' not in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize('build', ['runner_from_cfg', 'Runner.from_cfg'])
def test_a_run_of_a_drawn_seed_resumed_from_python_resumes_exactly(
        tiny_teacher_config, run_name, tmp_path, build):
    """MMEngine's train() builds the sampler before any hook runs: a resume
    from Python took a fresh draw for it, as the CLI did before."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from dld.datasets.synth import ensure_synth_plates
    from dld.engine.launch import runner_from_cfg
    make = runner_from_cfg if build == 'runner_from_cfg' else Runner.from_cfg

    def run(work_dir, resume=None):
        cfg = Config.fromfile(tiny_teacher_config)
        cfg.merge_from_dict(dict(work_dir=str(work_dir), experiment_name=run_name(),
                                 randomness=dict(seed=None)))
        if resume:
            cfg.merge_from_dict(dict(resume=True, load_from=str(resume)))
        make(cfg).train()

    ensure_synth_plates(**Config.fromfile(tiny_teacher_config).synth_plates)
    straight, broken = tmp_path / 'straight', tmp_path / 'broken'
    run(straight)
    broken.mkdir()
    (broken / 'epoch_2.pth').write_bytes((straight / 'epoch_2.pth').read_bytes())
    run(broken, broken / 'epoch_2.pth')
    a = torch.load(straight / 'epoch_3.pth', map_location='cpu', weights_only=True)
    b = torch.load(broken / 'epoch_3.pth', map_location='cpu', weights_only=True)
    _assert_same_tensors(a['state_dict'], b['state_dict'], 'state_dict')


def test_only_a_file_of_the_run_is_said_in_one_line(train_tool, tmp_path, monkeypatch):
    """A read-only cache or a permission refused elsewhere was told as the
    work dir's, its traceback gone."""
    import errno
    said = train_tool.run_file_unwritten
    work = str(tmp_path / 'wd')
    inside = os.path.join(work, 'x', 'scalars.json')
    assert said(OSError(errno.EROFS, 'Read-only file system', inside), work) == \
        f'Cannot write {inside}: Read-only file system'
    assert said(OSError(errno.EROFS, 'Read-only file system', '/root/.cache/k.bin'), work) is None
    assert said(OSError(errno.EACCES, 'Permission denied', '/data/a.png'), work) is None
    assert said(OSError(errno.ENOSPC, 'No space left on device'), work).startswith(
        'A write failed: No space left on device (no file named; the run writes into')
    assert said(OSError(errno.EACCES, 'Permission denied'), work) is None
    monkeypatch.setenv('DLD_TRACEBACK', '1')
    assert said(OSError(errno.EROFS, 'Read-only file system', inside), work) is None


def test_a_resume_path_that_is_not_there_is_refused_before_anything_is_built(
        tiny_teacher_config, train_tool, tmp_path, capsys, monkeypatch):
    """It was refused after the set-up text (the environment, the model, the
    data), its work dir made."""
    def built(*args, **kwargs):
        raise AssertionError('the runner was built')

    monkeypatch.setattr(train_tool, 'runner_from_cfg', built)
    work = tmp_path / 'run'
    missing = tmp_path / 'missing.pth'
    with pytest.raises(SystemExit) as info:
        train_tool.main([tiny_teacher_config, '--work-dir', str(work), '--resume', str(missing),
                         '--cfg-options', 'log_level=INFO'])
    assert info.value.code == 2
    out = capsys.readouterr()
    assert out.err.strip() == \
        f'train.py: the checkpoint --resume continues ({missing}): no such file'
    assert out.out == '' and not work.exists()


@pytest.mark.slow
def test_early_stopping_s_patience_survives_a_resume(tiny_teacher_config, train_tool,
                                                     run_name, tmp_path):
    """MMEngine's hook counted afresh after a resume: the broken run trained
    an epoch more than the unbroken one, and a run it stopped trained on."""
    config = tmp_path / 'early.py'
    # every validation after the first is no improvement: stopped after epoch 2 of 3
    config.write_text(f"_base_ = [{tiny_teacher_config!r}]\n"
                      "train_cfg = dict(val_interval=1)\n"
                      "custom_hooks = [dict(type='EarlyStoppingHook', monitor='plate/accuracy',"
                      " min_delta=2.0, patience=1)]\n")
    straight, broken = tmp_path / 'straight', tmp_path / 'broken'
    _train(train_tool, str(config), straight, run_name())
    assert osp.exists(straight / 'epoch_2.pth') and not osp.exists(straight / 'epoch_3.pth')
    _train(train_tool, str(config), broken, run_name(), 'train_cfg.max_epochs=1')
    train_tool.main([str(config), '--work-dir', str(broken), '--resume',
                     '--cfg-options', f'experiment_name={run_name()}', *EXACT])
    assert osp.exists(broken / 'epoch_2.pth') and not osp.exists(broken / 'epoch_3.pth')
    # the run it stopped, resumed: stopped again before its first step
    train_tool.main([str(config), '--work-dir', str(straight), '--resume',
                     '--cfg-options', f'experiment_name={run_name()}', *EXACT])
    assert not osp.exists(straight / 'epoch_3.pth')
