"""A teacher named by its work dir resolves to that run's best checkpoint."""
import os

import pytest
import torch

from dld.models.distillers.teacher_checkpoint import resolve_teacher_checkpoint


def test_a_work_dir_resolves_to_its_best_link_or_single_best_or_last(tmp_path):
    (tmp_path / 'epoch_3.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_3.pth')
    (tmp_path / 'best_acc_epoch_2.pth').write_bytes(b'')
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'best_acc_epoch_2.pth')
    os.symlink('best_acc_epoch_2.pth', tmp_path / 'best.pth')
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'best.pth')
    (tmp_path / 'best_acc_epoch_1.pth').write_bytes(b'')
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'best.pth')
    os.remove(tmp_path / 'best.pth')
    with pytest.raises(FileNotFoundError, match='several best'):
        resolve_teacher_checkpoint(str(tmp_path))


def test_a_best_link_to_a_missing_file_is_an_error_not_the_last_checkpoint(tmp_path):
    (tmp_path / 'epoch_3.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    os.symlink('best_acc_epoch_2.pth', tmp_path / 'best.pth')
    with pytest.raises(FileNotFoundError, match='best_acc_epoch_2.pth, which is missing'):
        resolve_teacher_checkpoint(str(tmp_path))


def test_a_missing_teacher_names_the_config_that_trains_it(tmp_path):
    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    # tools/train.py names a run's work dir after its config
    with pytest.raises(FileNotFoundError,
                       match=r'tools/train.py configs/teacher_plate_hr_ctc\.py`'):
        MODELS.build(tiny_dld_cfg('configs/dld_plate_ctc.py',
                                  teacher_ckpt=str(tmp_path / 'teacher_plate_hr_ctc')))


def test_the_quickstarts_missing_teacher_names_its_script_and_where_it_looked(
        tmp_path, monkeypatch):
    # a project run from its own folder resolves DLD's relative paths there
    from dld.models.distillers.teacher_checkpoint import load_teacher_weights
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        load_teacher_weights(None, 'work_dirs/quickstart/teacher')
    assert f"'work_dirs/quickstart/teacher' ({tmp_path}/work_dirs/quickstart/teacher)" \
        in str(err.value) and 'tools/quickstart.py`' in str(err.value)


def test_a_teacher_of_another_decoder_type_is_named_as_such(teacher_ckpt):
    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    ctc_teacher = teacher_ckpt('configs/dld_plate_ctc.py')
    with pytest.raises(RuntimeError, match=r"decoder has the parts \['classifier'\], the "
                                           r"config's AttentionDecoder .*attention or CTC"):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=ctc_teacher))


def test_a_teacher_of_other_widths_is_named_in_a_few_lines(teacher_ckpt):
    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    path = teacher_ckpt()
    cfg = tiny_dld_cfg()
    cfg['teacher']['backbone']['widths'] = [2 * w for w in cfg['teacher']['backbone']['widths']]
    with pytest.raises(RuntimeError) as err:
        MODELS.build(dict(cfg, teacher_ckpt=path, init_student_from_teacher=False))
    said = str(err.value)
    assert 'does not fit `model.teacher` (other widths?' in said and 'size mismatch' in said
    # torch's first lines, not one for each weight of the backbone
    assert len(said.splitlines()) <= 5 and said.endswith('more line(s)')


def test_a_colour_teacher_for_a_grey_config_is_named_as_such(teacher_ckpt):
    """It was "other widths?", the cause the stem's shape among the mismatches."""
    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    path = teacher_ckpt()
    cfg = tiny_dld_cfg()
    for part in ('teacher', 'student'):
        cfg[part]['backbone']['in_channels'] = 1
    cfg['data_preprocessor'] = dict(cfg['data_preprocessor'], channels=1, mean=[127.5],
                                    std=[127.5])
    with pytest.raises(RuntimeError, match=r'it reads 3 channel\(s\), model.teacher 1 '
                       r'\(backbone.in_channels; backbone.stem.0.weight\): a model trained '
                       'on colour images'):
        MODELS.build(dict(cfg, teacher_ckpt=path))


def test_a_teacher_of_other_layers_says_model_teacher_must_describe_it(teacher_ckpt, tmp_path):
    """A DLD config of a teacher of one's own left model.teacher the base
    config's: the fit error listed size mismatches first, the cause (another
    backbone) among 17 more lines (a newcomer's journey)."""
    import torch

    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    state = torch.load(teacher_ckpt(), weights_only=True)['state_dict']
    state = {k.replace('backbone.', 'backbone.mine.'): v for k, v in state.items()}
    torch.save(dict(state_dict=state, meta={}), tmp_path / 'own.pth')
    with pytest.raises(RuntimeError) as err:
        MODELS.build(tiny_dld_cfg(teacher_ckpt=str(tmp_path / 'own.pth')))
    said = str(err.value)
    assert "weights are not in it (e.g. backbone." in said
    assert 'of its weights are not in model.teacher (e.g. backbone.mine.' in said
    assert 'model.teacher must describe the teacher as its own config did' in said


def test_the_log_names_the_epoch_a_best_link_reads(teacher_ckpt, tmp_path):
    from unittest import mock

    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    path = teacher_ckpt()
    os.rename(path, tmp_path / 'best_acc_epoch_4.pth')
    os.symlink('best_acc_epoch_4.pth', tmp_path / 'best.pth')
    with mock.patch('dld.models.distillers.dld_distiller.print_log') as log:
        MODELS.build(tiny_dld_cfg(teacher_ckpt=str(tmp_path)))
    assert any('best.pth (best_acc_epoch_4.pth)' in c.args[0] for c in log.call_args_list)


def test_load_from_keeps_the_teacher_of_teacher_ckpt_a_resume_the_checkpoints(teacher_ckpt,
                                                                              tmp_path):
    """A DLD checkpoint given as load_from replaced the configured teacher
    without a word (the log said it was loaded from teacher_ckpt); a resume
    goes on with the teacher it trained with, and says so where they differ."""
    from unittest import mock

    from dld.engine.start_checkpoint import check_start_checkpoint
    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    earlier = MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(seed=1)))
    path = str(tmp_path / 'earlier_stage.pth')
    torch.save(dict(state_dict=earlier.state_dict(), meta={}, optimizer={}, param_schedulers=[]),
               path)
    configured = teacher_ckpt(seed=0)

    def teacher_after(resume):
        model = MODELS.build(tiny_dld_cfg(teacher_ckpt=configured))
        built = {k: v.clone() for k, v in model.teacher.state_dict().items()}
        with mock.patch('dld.engine.start_checkpoint.print_log') as log:
            check_start_checkpoint(model, path, resume=resume)
        model.load_state_dict(torch.load(path, weights_only=True)['state_dict'], strict=False)
        assert not model.keep_teacher_on_load  # for the load it was checked for only
        kept = all(torch.equal(v, built[k]) for k, v in model.teacher.state_dict().items())
        return kept, ' '.join(str(c.args[0]) for c in log.call_args_list)

    kept, said = teacher_after(resume=False)
    assert kept  # the student's weights are the checkpoint's, the teacher the configured one
    # said: a selector stage scored scales against a teacher its student never saw
    assert f'load_from ({path}) holds another teacher than model.teacher_ckpt names' in said
    assert 'set model.teacher_ckpt=None' in said
    kept, said = teacher_after(resume=True)
    assert not kept and 'holds another teacher than model.teacher_ckpt names' in said


@pytest.mark.parametrize('score, warned', [(0.0, True), (0.9, False)])
@pytest.mark.parametrize('best, words', [
    ('best_plate_accuracy_epoch_3.pth', 'read at best 0.0 % of its validation plates'),
    ('best_word_accuracy_epoch_3.pth', 'read at best 0.0 % of its validation words'),
    ('best_plate_one_minus_ned_epoch_3.pth',
     'scored at best 0.0 % (plate/one_minus_ned) on its validation set'),
    ('best_my_set_char_accuracy_epoch_3.pth',
     'scored at best 0.0 % (my_set/char_accuracy) on its validation set'),
    ('best_plate_accuracy_iter_500.pth', 'read at best 0.0 % of its validation plates'),
    ('best_char_accuracy_epoch_7.pth', 'scored at best 0.0 % (char_accuracy) on its '
     'validation set'),  # no prefix: not a 'char' set's accuracy
    ('best_loss_epoch_3.pth', None)])  # not a fraction where more is better
def test_a_teacher_whose_run_read_almost_no_plate_is_said_to(tmp_path, score, warned, best,
                                                             words):
    """A DLD run distilled from a teacher that read 0 % of its validation
    plates without a word (a reports journey); a word teacher kept by its
    accuracy or 1-NED (the docs' word configs) was not looked at."""
    from unittest import mock

    from dld.registry import MODELS

    from .conftest import tiny_dld_cfg
    teacher = MODELS.build(tiny_dld_cfg()['teacher'])
    path = str(tmp_path / best)
    torch.save(dict(state_dict=teacher.state_dict(), meta={}, message_hub=dict(
        runtime_info=dict(best_score=score, best_ckpt=path))), path)
    with mock.patch('mmengine.logging.print_log') as log:
        MODELS.build(tiny_dld_cfg(teacher_ckpt=path))
    said = [c.args[0] for c in log.call_args_list if 'teaches little' in c.args[0]]
    assert bool(said) == (warned and words is not None)
    if said:
        assert said[0].startswith(f'{path}: its training run {words}')


def test_the_teacher_command_names_dld_s_checkout_from_a_project_folder(tmp_path, monkeypatch):
    """Run from a project of one's own, 'Train one first with python
    tools/quickstart.py' named a script the folder does not have."""
    import os.path as osp

    from dld.models.distillers.teacher_checkpoint import teacher_hint
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    assert teacher_hint('work_dirs/quickstart/teacher') == 'python tools/quickstart.py'
    monkeypatch.chdir(tmp_path)
    assert teacher_hint('work_dirs/quickstart/teacher') == \
        f"python {osp.join(repo, 'tools/quickstart.py')}"
    assert teacher_hint('work_dirs/teacher_plate_hr_ctc') == (
        f"python {osp.join(repo, 'tools/train.py')} "
        f"{osp.join(repo, 'configs/teacher_plate_hr_ctc.py')}")
