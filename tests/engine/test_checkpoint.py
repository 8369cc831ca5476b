"""Checkpoints load with torch.load(weights_only=True) and save atomically."""
import itertools
import os
import os.path as osp
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner, load_checkpoint
from tiny_runner_parts import TinyData, TinyModel

from dld.engine.checkpoint import (
    CHECKPOINT_SAFE_GLOBALS,
    AtomicLocalBackend,
    CheckpointGlobalError,
    CheckpointReadError,
    CheckpointURLError,
    CheckpointWriteError,
    load_checkpoint_file,
    submodule_state,
)
from dld.engine.hooks import AtomicCheckpointHook

_run_ids = itertools.count()


class ForeignThing:
    """A class no allow-list knows about."""

    def __init__(self):
        self.payload = 1


def _train(work_dir, checkpoint_hook, epochs=2):
    loader = dict(dataset=TinyData(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=4, collate_fn=dict(type='default_collate'))
    runner = Runner(
        model=TinyModel(), work_dir=str(work_dir), train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        # OneCycle stores a bound method in its state; the hook must drop it.
        param_scheduler=[dict(type='OneCycleLR', eta_max=1e-3, total_steps=2 * epochs,
                              by_epoch=False)],
        default_hooks=dict(checkpoint=checkpoint_hook, logger=dict(type='LoggerHook',
                                                                    interval=1)),
        randomness=dict(seed=0), log_level='WARNING',
        experiment_name=f'ckpt-test-{next(_run_ids)}')
    runner.train()
    return runner


def test_saved_checkpoint_holds_only_allow_listed_globals(tmp_path):
    _train(tmp_path, AtomicCheckpointHook(interval=1))
    path = osp.join(tmp_path, 'epoch_2.pth')
    allowed = set()
    for g in CHECKPOINT_SAFE_GLOBALS:
        if isinstance(g, tuple):
            allowed.add(g[1])
        else:
            allowed.add(f'{g.__module__}.{g.__qualname__}')
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert 'builtins.getattr' not in unsafe
    assert unsafe <= allowed | {'numpy.dtype', 'numpy.ndarray'}
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['meta']['decoder_chars'] == []  # a model without a decoder (words: its test)
    # which DLD wrote it: MMEngine's commit is the run's folder's, not DLD's
    from dld import __version__
    from dld.utils.run_environment import code_commit
    assert ckpt['meta']['dld_environment']['dld'] == __version__
    assert ckpt['meta']['dld_environment']['commit'] == code_commit()
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() is not None
    with open(osp.join(tmp_path, 'last_checkpoint')) as f:
        assert f.read().strip() == path


def test_runner_resume_reads_its_checkpoint(tmp_path):
    _train(tmp_path, AtomicCheckpointHook(interval=1), epochs=1)
    runner = _train(tmp_path, AtomicCheckpointHook(interval=1), epochs=2)
    assert runner.epoch == 2
    runner2 = Runner(
        model=TinyModel(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=TinyData(), sampler=dict(type='DefaultSampler'),
                              batch_size=4, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        param_scheduler=[dict(type='OneCycleLR', eta_max=1e-3, total_steps=4, by_epoch=False)],
        default_hooks=dict(checkpoint=AtomicCheckpointHook(interval=1)),
        log_level='WARNING', experiment_name=f'ckpt-test-{next(_run_ids)}')
    runner2.resume(osp.join(tmp_path, 'epoch_1.pth'))
    assert runner2.train_loop.epoch == 1
    # The freshly built scheduler keeps its own annealing function.
    assert callable(runner2.param_schedulers[0].anneal_func)


class RisingMetric(BaseMetric):
    """A score that improves at every validation, across runners: each one
    saves a best checkpoint."""

    calls = itertools.count(1)

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(score=float(next(self.calls)))


def _best_runner(work_dir, epochs, resume=False, metric=None, save_best='score'):
    loader = dict(dataset=TinyData(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=4, collate_fn=dict(type='default_collate'))
    return Runner(
        model=TinyModel(), work_dir=str(work_dir), train_dataloader=loader,
        val_dataloader=loader, val_evaluator=Evaluator(metric or RisingMetric()), val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_hooks=dict(checkpoint=AtomicCheckpointHook(interval=1, save_best=save_best,
                                                           rule='greater')),
        resume=resume, log_level='WARNING', experiment_name=f'ckpt-test-{next(_run_ids)}')


def test_a_kill_while_saving_a_new_best_leaves_the_previous_best_and_its_link(
        tmp_path, monkeypatch):
    write = AtomicLocalBackend._atomic_write

    def killed_at_the_second_best(data, filepath, mode):
        if osp.basename(str(filepath)) == 'best_score_epoch_2.pth':
            raise KeyboardInterrupt('killed')
        return write(data, filepath, mode)

    monkeypatch.setattr(AtomicLocalBackend, '_atomic_write',
                        staticmethod(killed_at_the_second_best))
    with pytest.raises(KeyboardInterrupt):
        _best_runner(tmp_path, epochs=2).train()
    assert osp.isfile(tmp_path / 'best_score_epoch_1.pth')
    assert os.readlink(tmp_path / 'best.pth') == 'best_score_epoch_1.pth'
    monkeypatch.undo()
    # Resumed, the next best replaces the previous one once it is written.
    _best_runner(tmp_path, epochs=3, resume=True).train()
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith('best_')) == [
        'best_score_epoch_3.pth']
    assert os.readlink(tmp_path / 'best.pth') == 'best_score_epoch_3.pth'


@pytest.mark.parametrize('refused', [('symlink', ), ('symlink', 'link')])
def test_a_file_system_without_symlinks_gets_a_hard_link_or_a_copy_of_the_best(
        tmp_path, monkeypatch, caplog, refused):
    """Windows without Developer Mode, FAT, exFAT: the run stopped at its
    first best checkpoint with a traceback (and the quickstart reads best.pth)."""
    def no(*args, **kwargs):
        raise OSError(1314, 'A required privilege is not held by the client')

    for name in refused:
        monkeypatch.setattr(os, name, no)
    _train_logged(_best_runner(tmp_path, epochs=3), caplog)
    best = tmp_path / 'best_score_epoch_3.pth'
    assert not osp.islink(tmp_path / 'best.pth')
    assert (tmp_path / 'best.pth').read_bytes() == best.read_bytes()
    assert (os.stat(tmp_path / 'best.pth').st_ino == os.stat(best).st_ino) == \
        ('link' not in refused)
    made = 'copy' if 'link' in refused else 'hard link'
    said = [r.getMessage() for r in caplog.records if 'takes no symbolic links' in r.getMessage()]
    assert len(said) == 1 and f'best.pth is a {made} of the best checkpoint' in said[0]
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith('best')) == [
        'best.pth', 'best_score_epoch_3.pth']


class UnscoredFirstMetric(BaseMetric):
    """A metric whose first value ranks nothing (None), as a custom metric
    listed before the plate metric may return."""

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(note=None, score=1.0)


def _train_logged(runner, caplog) -> None:
    """``runner.train()`` with the run's warnings in ``caplog`` (MMEngine's
    logger does not propagate to the root one)."""
    from mmengine.logging import MMLogger
    caplog.set_level('WARNING')
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        runner.train()
    finally:
        logger.removeHandler(caplog.handler)


def test_a_best_key_that_ranks_nothing_is_said_once_not_skipped_silently(tmp_path, caplog):
    _train_logged(_best_runner(tmp_path, epochs=2, metric=UnscoredFirstMetric(),
                               save_best='auto'), caplog)
    said = [r.getMessage() for r in caplog.records if 'No best checkpoint' in r.getMessage()]
    assert len(said) == 1 and "'note'" in said[0] and 'save_best' in said[0]
    # nor MMEngine's notices of a FileClient it makes and does not use
    assert not [r for r in caplog.records if 'FileClient' in r.getMessage()
                or 'HardDiskBackend' in r.getMessage()]
    assert not [p for p in os.listdir(tmp_path) if p.startswith('best')]


def test_a_best_key_the_metrics_lack_names_the_setting_and_the_keys(tmp_path):
    from dld.engine.runner_settings import ConfigSettingError
    with pytest.raises(ValueError, match=r"save_best names 'accuracy'.*they hold \['score'\]"):
        _best_runner(tmp_path, epochs=1, save_best='accuracy').train()
    # misspelt: the close key is named, and train.py says it in one line (a
    # ConfigSettingError), not a traceback after the first epoch (a mixing journey)
    with pytest.raises(ConfigSettingError, match=r"names 'scores'.*\(did you mean 'score'\?\)"):
        _best_runner(tmp_path / 'misspelt', epochs=1, save_best='scores').train()


def test_foreign_global_is_refused_with_file_and_name(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=TinyModel().state_dict(), meta=ForeignThing()), path)
    with pytest.raises(CheckpointGlobalError) as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert path in message
    assert 'ForeignThing' in message
    assert info.value.global_name.endswith('ForeignThing')
    # The same refusal through MMEngine's loader (Runner.load_checkpoint,
    # load_from, --resume all go through it).
    with pytest.raises(CheckpointGlobalError, match='ForeignThing'):
        load_checkpoint(TinyModel(), path)


class RunsOnLoad:
    """A pickle payload: unpickled, it would write ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_a_payload_or_an_object_array_is_refused_naming_torch_s_reason(tmp_path):
    """torch 2.13 writes no 'WeightsUnpickler error' marker: the detail given
    was torch's closing 'Check the documentation' line; and a numpy object
    array was called unreadable ("may be truncated"), not a refused type."""
    import numpy as np
    marker = tmp_path / 'ran'
    for name, payload, refused in [
            ('evil.pth', RunsOnLoad(str(marker)), 'io.open'),
            ('objects.pth', np.array([1, 'a'], dtype=object), 'numpy.dtypes.ObjectDType')]:
        path = str(tmp_path / name)
        torch.save(dict(state_dict=TinyModel().state_dict(), meta=dict(x=payload)), path)
        with pytest.raises(CheckpointGlobalError) as info:
            load_checkpoint_file(path)
        said = str(info.value).splitlines()
        assert info.value.global_name == refused and said[-1].startswith('torch said: ')
        assert refused.rsplit('.', 1)[-1] in said[-1] and 'Check the documentation' not in said[-1]
        # a payload is not to be allowed (the advice to allow a type was given it too)
        assert ('It is code, not data' in said[0]) == (name == 'evil.pth')
        assert ('allow_checkpoint_globals' in said[0]) == (name != 'evil.pth')
    assert not marker.exists()


def test_plain_mmengine_checkpoint_is_refused_not_unpickled(tmp_path):
    _train(tmp_path, CheckpointHook(interval=1), epochs=1)
    # Its log buffers (and OneCycle's bound method) need `getattr`; which
    # refused global torch meets first depends on pickling order.
    with pytest.raises(CheckpointGlobalError, match='plain MMEngine') as info:
        load_checkpoint_file(osp.join(tmp_path, 'epoch_1.pth'))
    assert info.value.global_name in ('builtins.getattr',
                                      'mmengine.logging.history_buffer.HistoryBuffer')


def test_load_checkpoint_puts_weights_into_the_model(tmp_path):
    model = TinyModel()
    path = str(tmp_path / 'weights.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    other = TinyModel()
    load_checkpoint(other, path, map_location='cpu')
    assert torch.equal(other.fc.weight, model.fc.weight)


def _unreadable_files(tmp_path):
    """Files torch.load cannot read, each with torch's own unhelpful error."""
    good = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict=nn.Linear(64, 64).state_dict()), good)
    with open(good, 'rb') as f:
        data = f.read()
    files = dict(
        truncated=data[:len(data) // 2],       # torch: RuntimeError / OSError
        empty=b'',                             # torch: EOFError with no message
        text=b'hello world\n',                 # torch: KeyError: 101
        plain_pickle=pickle.dumps({'a': [1, 2, 3]}, protocol=4))  # "Unsupported operand 149"
    paths = {}
    for name, content in files.items():
        paths[name] = str(tmp_path / f'{name}.pth')
        with open(paths[name], 'wb') as f:
            f.write(content)
    return paths


@pytest.mark.parametrize('kind', ['truncated', 'empty', 'text', 'plain_pickle'])
def test_unreadable_file_is_named_and_called_unreadable(tmp_path, kind):
    path = _unreadable_files(tmp_path)[kind]
    with pytest.raises(CheckpointReadError) as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert path in message
    assert 'not a readable PyTorch checkpoint' in message and 'truncated' in message
    assert info.value.filename == path
    # The same through MMEngine's loader (load_from, --resume).
    with pytest.raises(CheckpointReadError, match='not a readable PyTorch checkpoint'):
        load_checkpoint(TinyModel(), path)


def test_plain_pickle_is_not_reported_as_needing_a_global(tmp_path):
    path = _unreadable_files(tmp_path)['plain_pickle']
    with pytest.raises(CheckpointReadError) as info:
        load_checkpoint_file(path)
    assert not isinstance(info.value, CheckpointGlobalError)
    assert 'Unsupported operand' in str(info.value)  # torch's real reason, not its advice
    assert 'allow-list' not in str(info.value)


def test_missing_checkpoint_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / 'ckpt.pth'
    backend = AtomicLocalBackend()
    backend.put(b'old', target)

    def broken_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk full'):
        backend.put(b'new-but-interrupted', target)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_a_folder_made_read_only_is_named_as_a_write_error_not_a_bare_one(tmp_path,
                                                                          monkeypatch):
    """chmod a-w of the work dir, a file system remounted read-only: the
    temporary file could not be made, a bare PermissionError traceback."""
    import tempfile
    target = tmp_path / 'epoch_2.pth'

    def read_only(*args, **kwargs):
        raise PermissionError(13, 'Permission denied', str(tmp_path / '.epoch_2.pth.x.tmp'))

    monkeypatch.setattr(tempfile, 'mkstemp', read_only)
    with pytest.raises(CheckpointWriteError) as err:
        AtomicLocalBackend().put(b'new', target)
    assert str(err.value).startswith(f'Cannot write {target} (0.0 MiB): Permission denied')
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_and_keeps_normal_permissions(tmp_path):
    target = tmp_path / 'last_checkpoint'
    backend = AtomicLocalBackend()
    backend.put_text('a', target)
    backend.put_text('b', target)
    assert target.read_text() == 'b'
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_submodule_state_reads_one_recognizer_of_a_dld_state_dict():
    w = torch.ones(2)
    state = {'teacher.a.weight': w, 'teacher_loaded': torch.tensor(True),
             'student.a.weight': 2 * w, 'selector.b': 3 * w}
    assert submodule_state(state, 'teacher') == {'a.weight': w}
    assert torch.equal(submodule_state(state, 'student')['a.weight'], 2 * w)
    assert submodule_state(state, 'connectors') is None
    assert submodule_state({'a.weight': w}, 'teacher') is None  # a plain recognizer


def test_a_full_device_is_not_called_an_unreadable_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict={}), path)

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')

    monkeypatch.setattr(torch, 'load', out_of_memory)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        load_checkpoint_file(path)


def _cached_download(tmp_path, monkeypatch, name, obj):
    """Put ``obj`` where torch.hub keeps a download of ``.../name``, so that
    loading its URL would read it without the network."""
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    os.makedirs(tmp_path / 'hub' / 'checkpoints')
    torch.save(obj, str(tmp_path / 'hub' / 'checkpoints' / name))
    return f'https://example.invalid/models/{name}'


@pytest.mark.parametrize('scheme', ['https://example.invalid/models/', 'http://h/',
                                    'torchvision://', 'open-mmlab://', 's3://bucket/',
                                    'pavi://', 'gopher://h/'])
def test_a_checkpoint_url_is_refused_even_where_a_download_is_cached(tmp_path, monkeypatch,
                                                                    scheme):
    """URLs were downloaded at run time (nothing may be), and torch.hub's
    cache, keyed by file name alone, served a file fetched from one server
    for another URL of that name; s3:// and pavi:// read weights_only=False."""
    model = TinyModel()
    _cached_download(tmp_path, monkeypatch, 'good.pth', dict(state_dict=model.state_dict()))
    url = f'{scheme}good.pth'
    with pytest.raises(CheckpointURLError, match='reads checkpoints from local files only') \
            as info:
        load_checkpoint(TinyModel(), url, map_location='cpu')  # load_from, --resume, init_cfg
    assert str(info.value).startswith(f'{url}: ')
    with pytest.raises(CheckpointURLError):
        load_checkpoint_file(url)


def test_a_file_url_is_refused_with_the_path_to_give(tmp_path):
    path = str(tmp_path / 'w.pth')
    torch.save(dict(state_dict=TinyModel().state_dict()), path)
    with pytest.raises(CheckpointURLError, match=f'give the path itself: {path}$'):
        load_checkpoint_file(f'file://{path}')


def test_a_second_run_in_the_work_dir_of_a_running_one_stops_before_removing_anything(
        tmp_path):
    """A --resume started while the first run still trained there removed
    the checkpoint it was writing (taken for a kill's leftover): the first
    run failed and lost its epoch (a security review)."""
    from work_dir_holder import held_by_another_process

    from dld.engine.work_dir_lock import WorkDirInUseError
    writing = tmp_path / '.epoch_3.pth.k3j9x1q_.tmp'  # the running one's save
    writing.write_bytes(b'x' * 10)
    with held_by_another_process(tmp_path) as pid:
        with pytest.raises(WorkDirInUseError, match=rf'{tmp_path} is the work dir of a '
                           rf'training run still running \(pid {pid} on '):
            _train(tmp_path, AtomicCheckpointHook(interval=1), epochs=1)
        assert writing.exists() and not (tmp_path / 'epoch_1.pth').exists()
    # the holder gone (killed: no stale lock), a run trains there; so do two
    # in turn in one process (a notebook)
    _train(tmp_path, AtomicCheckpointHook(interval=1), epochs=1)
    _train(tmp_path, AtomicCheckpointHook(interval=1), epochs=1)
    assert not writing.exists() and (tmp_path / 'epoch_1.pth').exists()


def test_files_of_saves_cut_short_are_removed_when_training_starts(tmp_path):
    """A kill -9 mid-save leaves its temporary file (a checkpoint's size);
    the next run in the work dir removes it, and nothing else."""
    leftovers = ['.epoch_2.pth.7qk2ny7k.tmp', '.best_score_epoch_1.pth.ab_cd12x.tmp',
                 'best.pth.tmp-1234']
    kept = ['notes.tmp', 'data.tmp-1', 'mine.pth', '.env.local.tmp', '.a.b.tmp',
            'other.pth.tmp-12']
    for name in leftovers + kept:
        (tmp_path / name).write_bytes(b'x' * 10)
    _train(tmp_path, AtomicCheckpointHook(interval=1), epochs=1)
    names = set(os.listdir(tmp_path))
    assert not names & set(leftovers)
    assert set(kept) <= names and 'epoch_1.pth' in names


def test_a_misspelt_argument_of_the_checkpoint_hook_is_refused_when_built():
    # MMEngine passes it on to save_checkpoint, which refused it after an epoch
    with pytest.raises(TypeError, match="'max_keep_ckpt'; did you mean max_keep_ckpts"):
        AtomicCheckpointHook(max_keep_ckpt=1)
    assert AtomicCheckpointHook(max_keep_ckpts=1).max_keep_ckpts == 1


@pytest.mark.parametrize('key, value', [('interval', 'x'), ('interval', 1.5),
                                        ('max_keep_ckpts', '3'), ('interval', True)])
def test_a_count_that_is_no_integer_is_refused_when_built(key, value):
    """interval='x' trained a whole epoch, then failed with a bare TypeError."""
    with pytest.raises(TypeError, match=f'default_hooks.checkpoint: {key} must be an integer'):
        AtomicCheckpointHook(**{key: value})
    assert AtomicCheckpointHook(interval=-1, max_keep_ckpts=-1).interval == -1  # MMEngine's


def test_keeping_no_checkpoint_is_refused_rather_than_keeping_all():
    """max_keep_ckpts=0 kept every checkpoint: MMEngine limits only a count above 0."""
    with pytest.raises(ValueError, match='max_keep_ckpts=0 would keep every checkpoint'):
        AtomicCheckpointHook(max_keep_ckpts=0)


def test_a_full_disk_is_named_with_the_file_and_leaves_no_temporary_file(tmp_path,
                                                                         monkeypatch):
    """The bare `No space left on device` named no file (a failure-modes journey)."""
    import errno

    from dld.engine.checkpoint import AtomicLocalBackend

    def full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full)
    target = tmp_path / 'epoch_3.pth'
    with pytest.raises(OSError, match=rf'No space left to write {target} \(1\.0 MiB; .* MiB '
                       rf'free in {tmp_path}\); none of it is left, and the files written '
                       'before it are whole'):
        AtomicLocalBackend().put(b'x' * 2**20, str(target))
    assert os.listdir(tmp_path) == []


def test_a_file_where_a_folder_should_be_is_named_as_such(tmp_path):
    """makedirs' bare "File exists" (tools/extract_student.py OUT where a
    folder of OUT's path is a file)."""
    from dld.engine.checkpoint import AtomicLocalBackend
    (tmp_path / 'afile').write_text('x')
    target = tmp_path / 'afile' / 'sub' / 's.pth'
    with pytest.raises(OSError, match=rf"Cannot write {target}: {tmp_path / 'afile'} is a "
                                      r'file, not a folder; none of it is left'):
        AtomicLocalBackend().put(b'x', str(target))
    assert os.listdir(tmp_path) == ['afile']


@pytest.mark.parametrize('global_name, code', [
    ('posix.system', True), ('eval', True), ('__import__', True), ('builtins.exec', True),
    ('timeit.timeit', True), ('numpy.testing._private.utils.runstring', True),
    ('getattr', False), ('builtins.getattr', False),  # plain MMEngine's: its own hint
    ('types.SimpleNamespace', False), ('numpy.dtypes.ObjectDType', False),
    ('my_project.MyRecord', False), (None, False)])
def test_a_global_that_is_code_is_told_from_a_type_of_data(global_name, code):
    """torch names builtins bare ('eval'), which was read as a module; a
    plain-data type (SimpleNamespace) was told it is code (a review)."""
    from dld.engine.checkpoint import _runs_code
    assert _runs_code(global_name) == code


def _resume_from(work_dir, checkpoint):
    runner = _best_runner(work_dir, epochs=2)
    runner._resume = True
    runner._load_from = str(checkpoint)
    return runner


def test_a_resume_into_another_folder_keeps_the_other_run_s_best_checkpoint(tmp_path, caplog):
    _best_runner(tmp_path / 'first', epochs=1).train()
    theirs = tmp_path / 'first' / 'best_score_epoch_1.pth'
    assert theirs.is_file()
    _train_logged(_resume_from(tmp_path / 'second', tmp_path / 'first' / 'epoch_1.pth'), caplog)
    assert theirs.is_file()  # MMEngine removed it at the second run's better score
    assert (tmp_path / 'second' / 'best_score_epoch_2.pth').is_file()
    assert f'names {theirs} as its best checkpoint' in caplog.text


@pytest.mark.parametrize('kind', ['file', 'folder'])
def test_a_crafted_best_path_in_a_checkpoint_removes_nothing(tmp_path, kind):
    _best_runner(tmp_path / 'work', epochs=1).train()
    victim = tmp_path / 'victim'
    if kind == 'file':
        victim.write_text('keep me')
    else:
        victim.mkdir()
        (victim / 'inside.txt').write_text('keep me')
    ckpt = load_checkpoint_file(str(tmp_path / 'work' / 'epoch_1.pth'))
    ckpt['message_hub']['runtime_info'].update(best_ckpt=str(victim), best_score=-1.0)
    torch.save(ckpt, tmp_path / 'work' / 'downloaded.pth')
    _resume_from(tmp_path / 'work', tmp_path / 'work' / 'downloaded.pth').train()
    assert victim.exists() and 'keep me' in (
        victim.read_text() if kind == 'file' else (victim / 'inside.txt').read_text())
    assert (tmp_path / 'work' / 'best_score_epoch_2.pth').is_file()


def test_a_loaded_history_buffer_leaves_the_class_registry_of_statistics_alone(
        tmp_path, monkeypatch):
    """HistoryBuffer.__setstate__ put a state's statistics_methods into the
    registry every buffer of the process calls: a crafted checkpoint made
    'mean' an allow-listed callable, and logging failed afterwards."""
    from mmengine.logging import HistoryBuffer

    from dld.engine.checkpoint import PlainHistoryBuffer
    buffer = PlainHistoryBuffer.from_buffer(HistoryBuffer([1.0, 3.0], [1, 1]))
    monkeypatch.setattr(PlainHistoryBuffer, '__getstate__',
                        lambda self: dict(self.__dict__, statistics_methods={'mean': 'crafted'},
                                          mean='crafted'))
    torch.save({'buffer': buffer}, tmp_path / 'crafted.pth')
    monkeypatch.undo()
    before = dict(HistoryBuffer._statistics_methods)
    # a copy of the registry for this test, which a failure of it leaves changed
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', dict(before))
    loaded = load_checkpoint_file(str(tmp_path / 'crafted.pth'))['buffer']
    assert HistoryBuffer._statistics_methods == before
    assert loaded.mean() == 2.0 and loaded.statistics('max') == 3.0


def test_mmengine_s_load_message_goes_through_the_logger_not_print(tmp_path, capsys):
    """'Loads checkpoint by ... backend' was a bare print() of each process
    (the runner's load_checkpoint and resume give MMEngine no logger)."""
    from unittest import mock

    from mmengine.runner.checkpoint import _load_checkpoint
    torch.save(dict(state_dict={}), tmp_path / 'w.pth')
    with mock.patch('mmengine.runner.checkpoint.print_log') as log:
        _load_checkpoint(str(tmp_path / 'w.pth'))
    assert log.call_args.kwargs['logger'] == 'current'


def test_a_pointer_in_the_locale_s_encoding_is_read(tmp_path, monkeypatch):
    """MMEngine writes last_checkpoint in the locale's encoding: on Windows
    a work dir under C:\\Users\\José was a UnicodeDecodeError as --resume
    read it as UTF-8."""
    import locale

    from dld.engine.checkpoint import latest_checkpoint, read_checkpoint_pointer
    from dld.models.distillers.teacher_checkpoint import resolve_teacher_checkpoint
    work = tmp_path / 'wd_José'
    work.mkdir()
    ckpt = work / 'epoch_1.pth'
    ckpt.write_bytes(b'')
    (work / 'epoch_2.pth').write_bytes(b'')  # what a pointer read as empty would give
    monkeypatch.setattr(locale, 'getpreferredencoding', lambda do_setlocale=True: 'cp1252')
    (work / 'last_checkpoint').write_bytes(f'{ckpt}\n'.encode('cp1252'))
    assert read_checkpoint_pointer(str(work / 'last_checkpoint')) == str(ckpt)
    assert latest_checkpoint(str(work)) == str(ckpt)
    assert resolve_teacher_checkpoint(str(work)) == str(ckpt)
    (work / 'last_checkpoint').write_bytes(f'{ckpt}'.encode())  # and UTF-8 as before
    assert read_checkpoint_pointer(str(work / 'last_checkpoint')) == str(ckpt)


def test_a_folder_the_full_disk_could_not_make_is_a_write_error(tmp_path, monkeypatch):
    """The error's own handler asked the free space of the folder that was not
    made: a FileNotFoundError traceback instead."""
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'makedirs', full)
    target = tmp_path / 'new' / 'epoch_1.pth'
    with pytest.raises(CheckpointWriteError, match=rf'MiB free in {tmp_path}\)'):
        AtomicLocalBackend().put(b'x', target)


@pytest.mark.parametrize('save_best', ['score', 'auto', None])
def test_validating_a_runner_that_never_trained_saves_nothing_and_does_not_fail(tmp_path,
                                                                                save_best):
    """runner.val() in a notebook: an AttributeError (no file_backend) in the hook."""
    runner = _best_runner(tmp_path, epochs=1, save_best=save_best)
    assert set(runner.val()) == {'score'}
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.pth')]


def _mid_epoch_run(folder, legacy=False):
    """``iter_15.pth`` (within epoch 2 of 10 iterations) beside ``epoch_1.pth``,
    each with weights and an optimizer's state, as a run saves them."""
    from dld.engine.hooks.resumed_schedule_check_hook import ITERS_PER_EPOCH_KEY
    model = nn.Linear(64, 64)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 64)).sum().backward()
    opt.step()
    for name, epoch, it in (('epoch_1.pth', 1, 10), ('iter_15.pth', 1, 15)):
        torch.save(dict(meta=dict(epoch=epoch, iter=it), state_dict=model.state_dict(),
                        optimizer=opt.state_dict(),
                        message_hub=dict(runtime_info={ITERS_PER_EPOCH_KEY: 10})),
                   osp.join(folder, name), _use_new_zipfile_serialization=not legacy)
    return osp.join(folder, 'iter_15.pth')


@pytest.mark.parametrize('legacy', [False, True])
def test_the_epoch_end_before_a_checkpoint_is_found_without_reading_its_tensors(
        tmp_path, monkeypatch, legacy):
    """A bare --resume and the stop line read where checkpoints stand: their
    meta, not their weights and optimizer state (a large model's, read
    whole, twice); a legacy (not zip) file, which cannot be mapped, is read
    whole as before."""
    from dld.engine.checkpoint import epoch_end_before
    path = _mid_epoch_run(str(tmp_path), legacy)
    loads, real_load = [], torch.load
    monkeypatch.setattr(torch, 'load', lambda *a, **kw: (loads.append(kw.get('mmap')),
                                                         real_load(*a, **kw))[1])
    found, why = epoch_end_before(path)
    assert found == str(tmp_path / 'epoch_1.pth') and 'saved within epoch 2' in why
    assert [bool(m) for m in loads] == [not legacy]
