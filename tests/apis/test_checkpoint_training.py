"""A report says where its checkpoint stands in its training run."""
import torch

from dld.apis.flops_accuracy import checkpoint_training

CFG = "train_cfg = dict(max_epochs=12, val_interval=3)\nmodel = dict(type='X')\n"


def _run(folder, last_epoch):
    folder.mkdir()
    best = folder / 'best_plate_accuracy_epoch_3.pth'
    torch.save(dict(state_dict={}), best)
    (folder / 'last_checkpoint').write_text(str(folder / f'epoch_{last_epoch}.pth'))
    (folder / 'best.pth').symlink_to(best.name)
    return str(folder / 'best.pth')


def test_a_killed_runs_best_checkpoint_is_of_an_unfinished_run(tmp_path):
    meta = dict(epoch=3, iter=6, cfg=CFG)
    assert checkpoint_training(_run(tmp_path / 'killed', 4), meta) == dict(
        epoch=3, iter=6, max_epochs=12, run_last_epoch=4, finished=False)
    assert checkpoint_training(_run(tmp_path / 'done', 12), meta)['finished'] is True


def test_what_is_not_known_is_none(tmp_path):
    lone = tmp_path / 'student.pth'  # an extracted student, no run folder
    torch.save(dict(state_dict={}), lone)
    assert checkpoint_training(str(lone), dict(epoch=3, cfg=CFG))['finished'] is None
    assert checkpoint_training(str(lone), None) == dict(
        epoch=None, iter=None, max_epochs=None, run_last_epoch=None, finished=None)
    assert checkpoint_training(_run(tmp_path / 'r', 12), dict(cfg='model = ('))['finished'] is None


def test_a_run_early_stopping_ended_is_finished(tmp_path):
    """EarlyStoppingHook's stop is the run's end (--resume of it stops at
    once): its report is not of an unfinished run."""
    import json
    best = _run(tmp_path / 'stopped', 4)
    (tmp_path / 'stopped' / 'early_stopping.json').write_text(json.dumps(
        dict(run_id='r', monitor='plate/accuracy', scores={'3': 0.5, '4': 0.5},
             stopped_after=4)))
    assert checkpoint_training(best, dict(epoch=3, cfg=CFG))['finished'] is True
    # an iteration-based run's record counts iterations: its 4 is no epoch 4
    (tmp_path / 'stopped' / 'early_stopping.json').write_text(json.dumps(
        dict(run_id='r', monitor='plate/accuracy', unit='iteration', scores={'4': 0.5},
             stopped_after=4)))
    assert checkpoint_training(best, dict(epoch=3, cfg=CFG))['finished'] is False


def test_a_path_and_no_meta(tmp_path):
    """A pathlib.Path was read as no file (everything None); the meta is
    read from the file when not given."""
    import pathlib
    best = _run(tmp_path / 'killed', 4)
    ckpt = torch.load(best, weights_only=True)
    ckpt['meta'] = dict(epoch=3, iter=6, cfg=CFG)
    torch.save(ckpt, best)
    expected = dict(epoch=3, iter=6, max_epochs=12, run_last_epoch=4, finished=False)
    assert checkpoint_training(pathlib.Path(best), dict(epoch=3, iter=6, cfg=CFG)) == expected
    assert checkpoint_training(best) == expected
