"""The checkpoint a run starts from must fit its model (MMEngine loads it leniently)."""
import pytest
import torch
from log_records import current_log_records
from mmengine.logging import print_log
from torch import nn

from dld.engine.start_checkpoint import StartCheckpointError, check_start_checkpoint
from dld.models.layers import ScaleBatchNorm2d


def _save(tmp_path, state: dict, name: str = 'ckpt.pth', **saved) -> str:
    """A checkpoint as MMEngine saves one at an epoch's end (``saved``: in
    place of its optimiser and schedule states)."""
    path = str(tmp_path / name)
    saved = saved or dict(optimizer={}, param_schedulers=[])
    torch.save(dict(state_dict=state, meta={}, **saved), path)
    return path


def _model():
    return nn.Sequential(nn.Conv2d(3, 4, 3), ScaleBatchNorm2d(4, num_scales=3), nn.Linear(4, 2))


def test_a_checkpoint_of_the_model_fits_for_load_from_and_resume(tmp_path):
    model = _model()
    path = _save(tmp_path, model.state_dict())
    check_start_checkpoint(model, path, resume=False)
    check_start_checkpoint(model, path, resume=True)


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    path = _save(tmp_path, {'student.0.weight': torch.zeros(4, 3, 3, 3)})
    with pytest.raises(StartCheckpointError, match=r'shares no weight with the model \(it '
                       r'holds 1 weight \(student\.\*\)\), so training would start from '
                       r'random weights'):
        check_start_checkpoint(_model(), path, resume=False)


def test_weights_of_another_shape_are_refused_naming_them(tmp_path):
    state = _model().state_dict()
    state['2.weight'] = torch.zeros(2, 8)
    path = _save(tmp_path, state)
    for resume, flag in ((False, 'load_from'), (True, 'the checkpoint --resume continues')):
        with pytest.raises(StartCheckpointError, match=rf'{flag} \(.*\) was saved by another '
                           r'model: 1 weight\(s\) differ in shape, e.g. size mismatch for '
                           r'2\.weight'):
            check_start_checkpoint(_model(), path, resume=resume)


def test_load_from_may_leave_some_weights_but_a_resume_may_not(tmp_path):
    state = {k: v for k, v in _model().state_dict().items() if not k.startswith('2.')}
    path = _save(tmp_path, state)
    check_start_checkpoint(_model(), path, resume=False)  # logged, not refused
    with pytest.raises(StartCheckpointError, match=r'does not hold this model: 2 weights '
                       r'\(2\.\*\) of the model missing\. Resume with the config'):
        check_start_checkpoint(_model(), path, resume=True)


def test_the_models_own_loading_rules_apply(tmp_path):
    """A plain BatchNorm's statistics load into every scale of a per-scale one."""
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
    check_start_checkpoint(_model(), _save(tmp_path, plain.state_dict()), resume=False)


@pytest.mark.parametrize('resume', [False, True])
def test_a_url_is_refused_in_one_line(resume):
    """A URL was left to MMEngine, which downloaded it (nothing may be)."""
    check_start_checkpoint(_model(), None, resume=False)
    for url in ('https://example.org/ckpt.pth', 'file:///x/w.pth'):
        with pytest.raises(StartCheckpointError, match='reads checkpoints from local files only'):
            check_start_checkpoint(_model(), url, resume)


def test_a_refusal_by_the_models_own_loading_rules_keeps_their_words(tmp_path):
    class Strict(nn.Linear):
        def _load_from_state_dict(self, *args, **kwargs):
            raise RuntimeError('this layer loads only from its own format')

    path = _save(tmp_path, nn.Sequential(nn.Linear(2, 2)).state_dict())
    with pytest.raises(StartCheckpointError, match=r'load_from \(.*\) does not load: this '
                       r'layer loads only from its own format'):
        check_start_checkpoint(nn.Sequential(Strict(2, 2)), path, resume=False)


@pytest.mark.parametrize('resume, flag', [(False, 'load_from'),
                                          (True, 'the checkpoint --resume continues')])
def test_a_local_path_that_is_no_file_is_refused_in_one_line(tmp_path, resume, flag):
    """MMEngine failed on it after the runner was built, with a traceback."""
    with pytest.raises(StartCheckpointError, match=rf'{flag} \(.*nope\.pth\): no such file'):
        check_start_checkpoint(_model(), str(tmp_path / 'nope.pth'), resume)
    with pytest.raises(StartCheckpointError, match='is a folder; give a checkpoint file in it'):
        check_start_checkpoint(_model(), str(tmp_path), resume)


class SaysWhenLoaded(nn.Linear):
    """Logs as DLDDistiller does when a state dict replaces its born-again teacher."""

    def _load_from_state_dict(self, *args, **kwargs):
        print_log('loaded a state dict', logger='current')
        super()._load_from_state_dict(*args, **kwargs)


def test_the_check_loads_the_copy_without_logging_what_loading_says(tmp_path):
    """The same line was logged twice: once by this check's copy, once by MMEngine."""
    model = SaysWhenLoaded(2, 2)
    path = _save(tmp_path, model.state_dict())
    with current_log_records() as records:
        check_start_checkpoint(model, path, resume=False)
        assert records == []
        model.load_state_dict(torch.load(path, weights_only=True)['state_dict'])
        assert [r.getMessage() for r in records] == ['loaded a state dict']


def test_a_path_from_the_home_folder_is_read_as_the_loaders_read_it(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    model = _model()
    _save(tmp_path, model.state_dict(), 'w.pth')
    check_start_checkpoint(model, '~/w.pth', resume=False)  # was "no such file"


def test_a_checkpoint_of_other_scales_is_refused_one_of_one_scale_is_not(tmp_path):
    """A selector stage on (1.0, 0.8, 0.5) from a student of (1.0, 0.7, 0.4)
    trained each scale on another's BatchNorm statistics."""
    model = _model()
    model.scales = [1.0, 0.8, 0.5]
    state = model.state_dict()

    def saved(cfg: str) -> str:
        path = str(tmp_path / f'{len(cfg)}.pth')
        torch.save(dict(state_dict=state, meta=dict(cfg=cfg), optimizer={}), path)
        return path

    other = saved("model = dict(type='DLDDistiller', scales=(1.0, 0.7, 0.4))\n")
    for resume in (False, True):
        with pytest.raises(StartCheckpointError, match=r'was trained with model.scales=\(1.0, '
                           r'0.7, 0.4\), this run has \(1.0, 0.8, 0.5\): .*Set model.scales'):
            check_start_checkpoint(model, other, resume=resume)
    check_start_checkpoint(model, saved("model = dict(scales=[1.0, 0.8, 0.5])\n"), False)
    # a single-scale run's student (plain BatchNorm) may start a run of several
    check_start_checkpoint(model, saved('model = dict(selector=None, fixed_scale=0.5)\n'),
                           False)


def test_a_checkpoint_of_another_base_size_is_refused_where_its_weights_go_on_as_they_are(
        tmp_path, monkeypatch):
    """A selector stage on a 48x144 student scored 32x96 inputs with that
    size's statistics, without a word (a review)."""
    from dld.engine import start_checkpoint
    model = _model()
    model.base_size = (32, 96)
    path = str(tmp_path / 'other_size.pth')
    torch.save(dict(state_dict=model.state_dict(), optimizer={},
                    meta=dict(cfg='model = dict(base_size=(48, 144))\n')), path)
    said = []
    monkeypatch.setattr(start_checkpoint, 'print_log', lambda msg, **kw: said.append(msg))
    check_start_checkpoint(model, path, resume=False)  # a student that trains on: said
    assert said == [f'load_from ({path}) was trained at model.base_size=(48, 144), this run '
                    'reads at (32, 96): the student trains on from weights of the other size.']
    model.train_student = False  # a selector stage on its frozen student
    with pytest.raises(StartCheckpointError, match=r'trained at model.base_size=\(48, 144\), '
                       r'this run reads at \(32, 96\): .*Set model.base_size'):
        check_start_checkpoint(model, path, resume=False)
    model.train_student = True
    with pytest.raises(StartCheckpointError, match=r'--resume continues .*trained at model'):
        check_start_checkpoint(model, path, resume=True)


def test_a_checkpoint_without_the_schedules_state_is_refused_for_resume_only(tmp_path):
    """A best checkpoint resumed with the LR schedule started again from its
    first step and Adam's moments at zero, without a word."""
    model = _model()
    best = _save(tmp_path, model.state_dict(), 'best_plate_accuracy_epoch_1.pth',
                 message_hub={})  # no optimizer, no param_schedulers
    with pytest.raises(StartCheckpointError, match=r"holds no LR schedule state \(nor the "
                       r"optimiser's\) \(a best checkpoint is saved with the weights only\), "
                       r'so the run would start its learning-rate schedule again'):
        check_start_checkpoint(model, best, resume=True)
    check_start_checkpoint(model, best, resume=False)  # its weights start a new run
    # a run without a schedule saves none: its checkpoints resume
    check_start_checkpoint(model, best, resume=True, scheduled=False)
    # saved with save_param_scheduler=False: the schedule would restart
    no_schedule = _save(tmp_path, model.state_dict(), 'epoch_2.pth', optimizer={})
    with pytest.raises(StartCheckpointError, match=r'epoch_2\.pth\) holds no LR schedule '
                                                   r'state, so'):
        check_start_checkpoint(model, no_schedule, resume=True)


def test_a_checkpoint_without_optimiser_state_resumes_saying_so(tmp_path):
    """save_optimizer=False keeps the schedule: it resumes, its moments afresh."""
    model = _model()
    path = _save(tmp_path, model.state_dict(), 'epoch_2.pth', param_schedulers=[])
    with current_log_records() as records:
        check_start_checkpoint(model, path, resume=True)
    assert any("holds no optimiser state (saved with save_optimizer=False?): the optimiser's "
               'moments start afresh' in r.getMessage() for r in records)


@pytest.mark.parametrize('resume', [True, False])
def test_a_checkpoint_holding_nan_is_refused_naming_the_weight(tmp_path, resume):
    """A checkpoint corrupted on disk (bytes overwritten, not cut short)
    loaded with NaN weights: the run validated on them and stopped at its
    first step as diverged, advising to resume from the same file (a resume
    journey)."""
    model = _model()
    state = model.state_dict()
    state['2.weight'][0, 1] = float('nan')
    path = _save(tmp_path, state)
    flag = 'the checkpoint --resume continues' if resume else 'load_from'
    advice = 'resume from an earlier checkpoint of the run' if resume else \
        'give another checkpoint'
    with pytest.raises(StartCheckpointError, match=rf'^{flag} \(.*ckpt\.pth\) holds NaN or '
                       rf'infinity in 2\.weight: a file damaged on disk or in a copy, or saved '
                       rf'by a run that diverged; {advice}'):
        check_start_checkpoint(model, path, resume=resume)


def test_a_truncated_last_checkpoint_names_the_one_before_it_for_resume(tmp_path):
    """The refusal named no way on (a resume journey): the saves are atomic,
    so the checkpoint before a damaged one is whole."""
    model = _model()
    earlier = _save(tmp_path, model.state_dict(), name='epoch_2.pth')
    _save(tmp_path, model.state_dict(), name='epoch_1.pth')
    last = _save(tmp_path, model.state_dict(), name='epoch_3.pth')
    with open(last, 'r+b') as f:
        f.truncate(200)
    with pytest.raises(StartCheckpointError, match=rf'Cannot read checkpoint .*epoch_3\.pth.*\n'
                       rf'.*\nThe checkpoint before it is there: --resume {earlier} goes on '
                       'from it'):
        check_start_checkpoint(model, last, resume=True)
    from dld.engine.checkpoint import CheckpointReadError
    with pytest.raises(CheckpointReadError):  # load_from: no run to go on with
        check_start_checkpoint(model, last, resume=False)


def test_nan_in_a_teacher_that_load_from_does_not_replace_is_not_refused(tmp_path):
    """A DLD model's teacher loaded from its teacher_ckpt is kept over
    load_from's: that copy's values are never read (a review)."""
    class WithTeacher(nn.Module):
        def __init__(self):
            super().__init__()
            self.teacher, self.student = nn.Linear(2, 2), nn.Linear(2, 2)
            self.teacher_loaded = True

    model = WithTeacher()
    state = model.state_dict()
    state['teacher.weight'][0, 0] = float('nan')
    path = _save(tmp_path, state)
    check_start_checkpoint(model, path, resume=False)
    with pytest.raises(StartCheckpointError, match='holds NaN or infinity in teacher.weight'):
        check_start_checkpoint(model, path, resume=True)  # resumed, its teacher is read
