"""MMEngine's CheckpointHook, made safe to interrupt and safe to load."""
import contextlib
import logging
import os
import os.path as osp
import re
import shutil
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.fileio.io import _parse_uri_prefix
from mmengine.hooks import CheckpointHook
from mmengine.logging import MMLogger, print_log

from dld.engine.checkpoint import ATOMIC_BACKEND, make_checkpoint_plain, register_checkpoint_io
from dld.engine.work_dir_lock import lock_work_dir, release_work_dir
from dld.models.dictionary.checkpoint_fit import DECODER_CHARS, decoder_chars
from dld.registry import HOOKS
from dld.utils.trained_input_size import INPUT_SIZE, batch_input_size

#: ``meta`` key: :func:`dld.utils.run_environment.run_environment` at the run's first save
RUN_ENVIRONMENT = 'dld_environment'
#: the run's batches came in more than one size: none is recorded
_SEVERAL_SIZES = 'several'


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` with two fixes; same arguments.

    * Local checkpoints are written through
      :class:`dld.engine.checkpoint.AtomicLocalBackend`: temporary file, fsync,
      rename. Killing a run mid-save leaves the previous files intact, and
      ``last_checkpoint`` (which MMEngine writes itself, once the checkpoint
      is complete, with a plain ``open``) never names a partial one; a kill
      while it is rewritten can leave it empty, and ``tools/train.py
      --resume`` then takes the newest checkpoint
      (:func:`dld.engine.checkpoint.latest_checkpoint`). An explicit ``backend_args`` or
      a remote ``out_dir`` is left alone.
      MMEngine removes the previous best checkpoint before it writes the
      new one; here the removal waits until the new one is written, so a
      kill in between leaves a best checkpoint (and ``best.pth`` a target).
    * Every checkpoint the runner saves (latest and best) is passed through
      :func:`dld.engine.checkpoint.make_checkpoint_plain`, so it holds only
      types on the allow-list and loads with ``weights_only=True``.

    And two additions: with a single ``save_best`` key and a local ``out_dir``,
    ``best.pth`` in the out dir always points (symlink; a hard link or a
    copy where the file system takes none) at the current best checkpoint
    (``best_plate_accuracy_epoch_N.pth``), so other configs can
    name the teacher's best checkpoint without knowing N; and the temporary
    files of saves that a ``kill -9`` cut short (a checkpoint's size each)
    are removed from the out dir when training starts, logged. A training
    run holds its out dir (:func:`~dld.engine.work_dir_lock.lock_work_dir`):
    a second one started there stops before anything is removed.

    Args:
        best_link (str | None): name of that link; None for no link.
        **kwargs: :class:`mmengine.hooks.CheckpointHook` arguments.
    """

    def __init__(self, *args, best_link='best.pth', **kwargs) -> None:
        _check_keywords(kwargs)
        _check_counts(kwargs)
        super().__init__(*args, **kwargs)
        self.best_link = best_link
        self._unscored_keys_warned = set()
        self._link_fallback_said = False
        self._input_size = None  # (H, W) of the batches' inputs, or _SEVERAL_SIZES
        self._environment = None  # run_environment(), read at the first save

    def before_train(self, runner) -> None:
        register_checkpoint_io()
        out_dir = self.out_dir or runner.work_dir
        if (self.backend_args is None and self.file_client_args is None
                and _parse_uri_prefix(str(out_dir)) == ''):
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        logger = MMLogger.get_current_instance()
        if _not_a_file_client_notice not in logger.filters:
            logger.addFilter(_not_a_file_client_notice)
        super().before_train(runner)
        self._forget_best_outside_out_dir()
        if self.backend_args == dict(backend=ATOMIC_BACKEND) and is_main_process():
            # held until the process ends: a second run here would remove
            # this one's checkpoint being written, taking it for a leftover
            lock_work_dir(str(self.out_dir))
            _remove_unfinished_saves(str(self.out_dir), self.best_link)

    def _forget_best_outside_out_dir(self) -> None:
        """A resumed checkpoint names its run's best checkpoint, which
        MMEngine removes (a folder with all it holds) at the next better
        score: resumed into another work dir, that was the other run's best
        file; from a crafted checkpoint, any path. Only a best file in this
        run's out dir is removed; another is kept, and said so."""
        paths = ({None: self.best_ckpt_path} if hasattr(self, 'best_ckpt_path')
                 else getattr(self, 'best_ckpt_path_dict', {}))
        for key, path in paths.items():
            if not path or _is_own_best_file(str(path), str(self.out_dir)):
                continue
            if key is None:
                self.best_ckpt_path = None
            else:
                self.best_ckpt_path_dict[key] = None
            print_log(f'The resumed checkpoint names {path} as its best checkpoint, which is '
                      f'not a best checkpoint file of this run\'s folder {self.out_dir}: it is '
                      'kept when a better one is saved here, not removed.', logger='current',
                      level=logging.WARNING)

    def after_train(self, runner) -> None:
        super().after_train(runner)
        if is_main_process():
            release_work_dir(str(self.out_dir))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        # the size the model trains at, for a checkpoint's loaders to compare
        # (the weights of a fully convolutional model fit any size)
        size = batch_input_size(data_batch)
        if size is None or self._input_size in (size, _SEVERAL_SIZES):
            return
        self._input_size = size if self._input_size is None else _SEVERAL_SIZES

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        make_checkpoint_plain(checkpoint)
        meta = checkpoint.setdefault('meta', {})
        # what the classifier's rows read as: a dictionary of the same size
        # but other characters fits every weight (checked where it is loaded)
        meta[DECODER_CHARS] = decoder_chars(runner.model)
        if isinstance(self._input_size, tuple):
            meta[INPUT_SIZE] = list(self._input_size)
        # the code and libraries the run trained with (DLD's version and git
        # commit among them), as a report records them: a sweep's run is traced
        # back to its code by its checkpoint (MMEngine's `mmengine_version`
        # carries the commit of the current folder's repository, if any)
        if self._environment is None:
            from dld.utils.run_environment import run_environment
            # plain str: torch.__version__ is a TorchVersion, which a
            # weights-only load refuses
            self._environment = {k: str(v) if isinstance(v, str) else v
                                 for k, v in run_environment().items()}
        meta[RUN_ENVIRONMENT] = dict(self._environment)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        # MMEngine removes the oldest kept checkpoint before it writes the
        # new one: with max_keep_ckpts=1 a kill or a full disk in between
        # left nothing to resume from. The removal waits for the new one.
        with _deferred_removals(self.file_backend) as deferred:
            super()._save_checkpoint_with_step(runner, step, meta)
        for path in deferred or ():
            if path != self.last_ckpt:
                self.file_backend.remove(path)

    def after_val_epoch(self, runner, metrics) -> None:
        if not hasattr(self, 'file_backend'):
            # runner.val() of a runner that never trained (a notebook's
            # evaluation): no best to keep; MMEngine's hook failed there
            # (AttributeError: no file_backend, set in before_train)
            return
        super().after_val_epoch(runner, metrics)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if self.save_best:
            self._check_best_keys(runner, metrics)
        with _deferred_removals(self.file_backend) as deferred:
            super()._save_best_checkpoint(runner, metrics)
        best = getattr(self, 'best_ckpt_path', None)
        if (self.best_link and best and is_main_process()
                and _parse_uri_prefix(str(best)) == '' and osp.isfile(best)):
            link = osp.join(osp.dirname(best), self.best_link)
            try:
                made = _point_link_at(link, best)
            except OSError as err:  # the checkpoint is saved: the link is not worth the run
                print_log(f'{link} could not point at {osp.basename(best)}: {err}',
                          logger='current', level=logging.WARNING)
            else:
                if made != 'symlink' and not self._link_fallback_said:
                    self._link_fallback_said = True
                    print_log(f'{osp.dirname(best)} takes no symbolic links: {self.best_link} '
                              f'is a {made} of the best checkpoint instead'
                              + (' (as much disk again)' if made == 'copy' else ''),
                              logger='current', level=logging.WARNING)
        for path in deferred or ():
            if path != best:
                self.file_backend.remove(path)

    def _check_best_keys(self, runner, metrics: dict) -> None:
        """MMEngine fails on a ``save_best`` key the metrics lack with a bare
        ``KeyError`` (here a ``ValueError`` naming the setting), and skips a
        key whose value is None or NaN without a word: a run then ends with
        no best checkpoint, and no ``best.pth`` for later configs to load."""
        keys = ([next(iter(metrics), None)] if 'auto' in self.key_indicators
                else self.key_indicators)
        for key in keys:
            if key is None or key not in metrics:
                from dld.engine.runner_settings import ConfigSettingError
                from dld.utils.close_names import did_you_mean
                close = did_you_mean(str(key), metrics, quoted=True)
                # one line from train.py (ConfigSettingError), not a traceback
                raise ConfigSettingError(
                    f'default_hooks.checkpoint.save_best names {key!r}, which the validation '
                    f'metrics do not hold' + (f' ({close})' if close else '')
                    + f'; they hold {sorted(metrics)}. Name one of them, or set '
                    'save_best=None for no best checkpoint.')
            value = metrics[key]
            if (value is None or value != value) and key not in self._unscored_keys_warned:
                self._unscored_keys_warned.add(key)
                print_log(
                    f'No best checkpoint at epoch {runner.epoch}: the validation metric '
                    f'{key!r} (default_hooks.checkpoint.save_best) is '
                    f'{value}, which ranks nothing; it is skipped while it stays so (said '
                    'once). Set save_best to a metric that scores every epoch, such as '
                    "'plate/accuracy'.", logger='current', level=logging.WARNING)


@contextlib.contextmanager
def _deferred_removals(backend):
    """The files ``backend.remove`` is asked to remove in the block, kept
    until the caller removes them (the method is shadowed meanwhile); None
    inside another such block, whose caller removes them."""
    if 'remove' in vars(backend):
        yield None
        return
    deferred = []
    backend.remove = deferred.append
    try:
        yield deferred
    finally:
        del backend.remove


def _is_own_best_file(path: str, out_dir: str) -> bool:
    """Whether ``path`` is a best checkpoint this hook could have written in
    ``out_dir``: a ``best_*`` file (not a folder, not a link) right in it.
    A remote out dir is compared by name."""
    if not osp.basename(path).startswith('best_'):
        return False
    if _parse_uri_prefix(out_dir) != '':
        return path.rsplit('/', 1)[0].rstrip('/') == out_dir.rstrip('/')
    return (osp.realpath(osp.dirname(path)) == osp.realpath(out_dir)
            and not osp.islink(path) and not osp.isdir(path))


#: What MMEngine 0.10 logs in every run, making a FileClient it does not
#: use when ``file_client_args`` is None (ours): in the checkpoint hook and
#: in each save.
_FILE_CLIENT_NOTICES = ('"FileClient" will be deprecated', '"HardDiskBackend" is the alias')


def _not_a_file_client_notice(record: logging.LogRecord) -> bool:
    """A log filter leaving out those two warnings, which no setting of the
    user's can act on."""
    return not str(record.msg).startswith(_FILE_CLIENT_NOTICES)


def _check_keywords(kwargs: dict) -> None:
    """MMEngine's hook passes keywords it does not know on to
    ``Runner.save_checkpoint``, which refuses them at the first save: a
    misspelt ``max_keep_ckpt=1`` trained a whole epoch, then failed."""
    import inspect

    from mmengine.runner import Runner

    from dld.utils.close_names import did_you_mean
    known = (set(inspect.signature(CheckpointHook.__init__).parameters)
             | set(inspect.signature(Runner.save_checkpoint).parameters)) - {'self', 'kwargs'}
    for key in kwargs:
        if key not in known:
            close = did_you_mean(key, known)
            hint = f'; {close}' if close else ''
            raise TypeError(f'default_hooks.checkpoint: AtomicCheckpointHook (MMEngine\'s '
                            f'CheckpointHook) takes no argument {key!r}{hint}')


def _check_counts(kwargs: dict) -> None:
    """``interval`` and ``max_keep_ckpts`` must be integers: MMEngine reads
    them at the first save, so ``interval='x'`` trained a whole epoch, then
    failed with a bare TypeError. (MMEngine's -1: no periodic save, or no
    limit on the checkpoints kept.) ``max_keep_ckpts=0`` is refused: MMEngine
    keeps every checkpoint then, as with -1, where 0 reads as "keep none"."""
    for key in ('interval', 'max_keep_ckpts'):
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f'default_hooks.checkpoint: {key} must be an integer, got '
                            f'{value!r}')
    if kwargs.get('max_keep_ckpts') == 0:
        raise ValueError('default_hooks.checkpoint: max_keep_ckpts=0 would keep every '
                         'checkpoint (MMEngine limits only a count above 0): give 1 or more '
                         'to keep the last ones (a run resumes from the last), -1 to keep all; '
                         'interval=-1 saves only the best and the last')


#: ``AtomicLocalBackend``'s temporary files: ``.<name>.``, mkstemp's eight
#: characters, ``.tmp`` (``.epoch_2.pth.k3j9x1q_.tmp``).
_UNFINISHED_SAVE = re.compile(r'^\..+\.[a-z0-9_]{8}\.tmp$')


def _remove_unfinished_saves(out_dir: str, link: Optional[str]) -> None:
    """Remove what saves killed midway left in ``out_dir``: the atomic
    writes' temporary files and ``_point_link_at``'s (``best.pth.tmp-1234``).
    Nothing saves before training starts, so every such file is a leftover."""
    if not osp.isdir(out_dir):
        return
    link_tmp = re.compile(rf'^{re.escape(link)}\.tmp-\d+$') if link else None
    removed, size = [], 0
    for name in sorted(os.listdir(out_dir)):
        path = osp.join(out_dir, name)
        unfinished = _UNFINISHED_SAVE.match(name) or (link_tmp and link_tmp.match(name))
        if unfinished and (osp.islink(path) or osp.isfile(path)):
            size += 0 if osp.islink(path) else osp.getsize(path)
            os.remove(path)
            removed.append(name)
    if removed:
        print_log(f'Removed {len(removed)} file(s) of saves cut short in {out_dir} '
                  f'({size / 2**20:.1f} MiB): {", ".join(removed)}', logger='current')


def _point_link_at(link: str, target: str) -> str:
    """Make ``link`` a relative symlink to ``target``, replacing it
    atomically; where the file system refuses symlinks (Windows without
    Developer Mode or administrator rights, FAT and exFAT, some network
    shares: training stopped at its first best checkpoint), a hard link to
    it, else a copy of it. Returns which it made: ``'symlink'``, ``'hard
    link'`` or ``'copy'``."""
    tmp = f'{link}.tmp-{os.getpid()}'
    if osp.lexists(tmp):
        os.remove(tmp)
    made = 'symlink'
    try:
        os.symlink(osp.basename(target), tmp)
    except (OSError, NotImplementedError):
        made = 'hard link'
        try:
            os.link(target, tmp)
        except (OSError, NotImplementedError):
            made = 'copy'
            try:
                shutil.copyfile(target, tmp)
            except BaseException:
                if osp.lexists(tmp):
                    os.remove(tmp)
                raise
    os.replace(tmp, link)
    return made
