"""Training plates rendered on the fly: new plates every epoch, nothing on disk."""
import logging
import os.path as osp
from typing import List, Optional, Sequence, Set, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from dld.registry import DATASETS, TASK_UTILS
from dld.utils.char_names import describe_chars
from dld.utils.config_types import type_name
from dld.utils.flags import check_flag

from .degradation import DegradationConfig
from .errors import DataNotFoundError, DataSourceError
from .seeded_pipeline import SeededPipelineMixin
from .synth.generator import icpr_layout_name, render_track, resolve_layouts
from .synth.plate_text import label_chars

# Seeds (seed, _ONLINE_CODE, index, attempt): never the (seed, split, ...)
# seeds of a rendered set (splits are 0-2), so no online plate repeats one.
_ONLINE_CODE = 3


@DATASETS.register_module()
class OnlineSynthPlateDataset(SeededPipelineMixin, BaseDataset):
    """Synthetic LR/HR plates rendered when read, one plate per item.

    Why: a student that reads the same 7500 training plates cycle after cycle
    learns those plates rather than the small scales (docs/results.md: after
    four cycles it read its own plates at 0.3x 15 pt better than new ones).
    Here item ``i`` is plate ``i`` of an endless, seeded stream, and with
    :class:`EpochOffsetSampler` epoch ``e`` reads plates ``e*N ... e*N+N-1``:
    every epoch is a new set, the same one on every run, resumed or not.
    With the default sampler the same ``N`` plates come back each epoch,
    rendered rather than read from disk.

    With ``seed_pipeline`` (the default) the pipeline's random draws (the
    augmentations) are seeded from the item's index too, and from the run's
    ``randomness.seed`` (:meth:`set_pipeline_seed`, called by
    :class:`~dld.engine.hooks.EpochSeedHook`), so an item is the same image
    every time a run reads it: a resumed run reads exactly what an unbroken
    one reads, whichever dataloader worker reads it, and another training
    seed draws other augmentations of the same plates. With the default
    sampler that repeats each augmentation every epoch; set it False there
    for new draws each epoch.

    An item is one frame of its own plate (a track of one), drawn like the
    frames of :func:`~dld.datasets.synth.generate_synth_plates` and put in
    ``results`` as ``img`` (LR) and ``img_hr`` (HR), so the pipeline starts
    after ``LoadPlateImages``.

    Args:
        num_plates (int): items per epoch (``len(dataset)``).
        seed (int): master seed of the stream.
        layouts (Sequence[str]): layout names or patterns, as for the generator.
        layout_weights (Sequence[float] | None): their sampling weights.
        hr_size (tuple[int, int]): HR crop ``(H, W)``.
        degradation (dict | None): :class:`DegradationConfig` overrides.
        with_lr (bool): render the LR frame; False where the student reads
            the HR crop (the efficiency setting), which leaves the HR frame
            and the label unchanged and saves the degradation's time.
        with_hr (bool): keep the HR frame in ``results``; False where nothing
            reads it (a student trained without a teacher), so the pipeline
            does not resize and batch an image that is thrown away. The LR
            frame is still degraded from it.
        seed_pipeline (bool): seed the pipeline's random draws per item.
        exclude_ann_files (Sequence[str] | str): label files (paired format)
            whose plates are never rendered: the validation and test splits,
            so no evaluated plate is trained on; a folder of ICPR track
            folders gives the ``plate_text`` of every ``annotations.json``
            below it, and a track list (an ICPR split) those of the folders
            it names. A missing file, or one that names neither labels nor
            track folders, is an error.
        dictionary (dict | Dictionary | None): the character set; every
            character the layouts can draw must be in it.
        track_prefix (str): put before every ``track_id`` (``online/N``), as
            :class:`BasePlateDataset` takes it.
        pipeline (list): transforms after loading.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self,
                 num_plates: int = 7500,
                 seed: int = 0,
                 layouts: Sequence[str] = ('brazilian', 'mercosur'),
                 layout_weights: Optional[Sequence[float]] = None,
                 hr_size: Tuple[int, int] = (64, 192),
                 degradation: Optional[dict] = None,
                 with_lr: bool = True,
                 with_hr: bool = True,
                 seed_pipeline: bool = True,
                 exclude_ann_files: Union[str, Sequence[str]] = (),
                 dictionary: Union[dict, object, None] = None,
                 track_prefix: str = '',
                 **kwargs) -> None:
        if int(num_plates) < 1:
            raise ValueError(f'num_plates must be >= 1, got {num_plates}')
        loads = [step.get('type') for step in kwargs.get('pipeline') or ()
                 if isinstance(step, dict)
                 and type_name(step.get('type')) == 'LoadPlateImages']
        if loads:
            # it would look for image files at the first step of training
            load = loads[0] if isinstance(loads[0], str) else type_name(loads[0])  # a class
            raise ValueError('OnlineSynthPlateDataset renders its images in memory: leave '
                             f'{load} out of its pipeline (e.g. train_pipeline[1:], '
                             'docs/datasets.md)')
        if kwargs.get('test_mode'):
            raise ValueError('OnlineSynthPlateDataset is for training; evaluate on a rendered '
                             'set (PairedPlateDataset) so every run reads the same plates')
        self.num_plates = int(num_plates)
        self.seed = int(seed)
        self.layouts, self.layout_weights = resolve_layouts(layouts, layout_weights)
        self.hr_size = (int(hr_size[0]), int(hr_size[1]))
        self.degradation = DegradationConfig.from_dict(degradation)
        with_lr = check_flag(with_lr, 'OnlineSynthPlateDataset.with_lr')
        with_hr = check_flag(with_hr, 'OnlineSynthPlateDataset.with_hr')
        if not (with_lr or with_hr):
            raise ValueError('OnlineSynthPlateDataset needs with_lr or with_hr: '
                             'an item must hold an image')
        self.with_lr = with_lr
        self.with_hr = with_hr
        self.seed_pipeline = check_flag(seed_pipeline, 'OnlineSynthPlateDataset.seed_pipeline')
        if not isinstance(track_prefix, str):
            raise TypeError(f'track_prefix must be a string, got {track_prefix!r}')
        self.track_prefix = track_prefix  # as the sets on disk take it
        # One file given as a string is that file, not its characters.
        self.exclude_ann_files = ([exclude_ann_files] if isinstance(exclude_ann_files, str)
                                  else list(exclude_ann_files))
        if dictionary is None:
            dictionary = dict(type='Dictionary')
        if isinstance(dictionary, dict):
            dictionary = TASK_UTILS.build(dictionary)
        self.dictionary = dictionary
        self.excluded: Set[str] = set()
        # Outside a runner no default scope is set (see BasePlateDataset).
        scope = None if DefaultScope.get_current_instance() is not None else 'dld'
        kwargs.setdefault('serialize_data', False)  # N small dicts: nothing to share
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(**kwargs)
        self._metainfo['chars'] = ''.join(self.dictionary.dict[:self.dictionary.num_chars])

    def load_data_list(self) -> List[dict]:
        self.excluded = set()
        for path in self.exclude_ann_files:
            self.excluded |= _read_labels(path, self.dictionary)
        self._check_alphabet()
        return [dict(plate_index=i) for i in range(self.num_plates)]

    def _check_alphabet(self) -> None:
        """Fail at build time, not mid-epoch, when a layout can draw characters
        the dictionary lacks."""
        for _, pattern in self.layouts:
            unknown = self.dictionary.unknown_chars(label_chars(pattern))
            if unknown:
                raise ValueError(f'Layout {pattern!r} draws character(s) '
                                 f'{describe_chars(unknown)} outside the dictionary')

    def render(self, index: int) -> dict:
        """The ``results`` of plate ``index`` of the stream (any index >= 0)."""
        attempt = 0
        while True:
            track = render_track((self.seed, _ONLINE_CODE, int(index), attempt), self.layouts,
                                 self.layout_weights, 1, self.hr_size, self.degradation,
                                 with_lr=self.with_lr)
            if track['label'] not in self.excluded:
                break
            attempt += 1  # an evaluated plate: draw another from the next seed
        results = dict(gt_text=track['label'], plate_layout=icpr_layout_name(track['layout']),
                       track_id=f'{self.track_prefix}online/{index}', frame_idx=0, num_frames=1,
                       sample_idx=int(index))
        if self.with_hr:
            hr = track['hr'][0]
            results.update(img_hr=hr, hr_img_shape=hr.shape[:2], hr_ori_shape=hr.shape[:2])
        if self.with_lr:
            lr = track['lr'][0]
            results.update(img=lr, img_shape=lr.shape[:2], ori_shape=lr.shape[:2])
        return results

    def get_data_info(self, idx: int) -> dict:
        # Any index >= 0 is a plate: EpochOffsetSampler asks past len(self).
        if idx < 0:
            raise IndexError(f'plate index must be >= 0, got {idx}')
        return self.render(idx)

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:  # before seeding from it, which would fail less clearly
            raise IndexError(f'plate index must be >= 0, got {idx}')
        with self.item_draws(self.seed, idx):
            data = self.prepare_data(idx)
        if data is None:
            raise RuntimeError(f'The pipeline returned None for plate {idx}; plate pipelines '
                               'must not drop samples silently.')
        return data

    def __len__(self) -> int:
        return self.num_plates

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_plates={self.num_plates}, seed={self.seed}, '
                f'with_lr={self.with_lr}, with_hr={self.with_hr}, '
                f'seed_pipeline={self.seed_pipeline}, '
                f'excluded labels={len(self.excluded)})')


def _read_labels(path: str, dictionary) -> Set[str]:
    """The labels of a paired-format label file (text after the TAB), or of
    the ICPR track folders below a folder."""
    if osp.isdir(path):
        return _track_folder_labels(path, dictionary)
    if not osp.isfile(path):
        raise DataNotFoundError(
            f'exclude_ann_files: label file not found: {path!r}. It names plates the online '
            'set must not render (the validation and test splits); generate them first '
            '(tools/make_synth_plates.py, or any tool on a config with `synth_plates`), or, '
            'where they are elsewhere, set exclude_ann_files to their label files (a base '
            "config's data_root was read with the base).")
    # Decoded as PairedPlateDataset decodes it: a BOM is dropped, a line that
    # is not UTF-8 is an error naming file:line.
    from .paired_plate_dataset import decode_label_line, read_label_lines

    labels = set()
    raw_lines = read_label_lines(path)
    for lineno, raw in enumerate(raw_lines, 1):
        # A line that does not decode raises, never skipped: its plate could
        # then be rendered for training while it is evaluated.
        line = decode_label_line(raw, f'{path}:{lineno}')
        if '\t' in line and not line.lstrip().startswith('#'):
            labels.add(dictionary.normalize(line.split('\t', 1)[1].strip()))
    listed = [decode_label_line(raw, path).strip() for raw in raw_lines
              if raw.strip() and not raw.lstrip().startswith(b'#')]
    if listed and not labels:  # a track list (ICPR folders) excluded nothing, silently
        return _track_list_labels(path, listed, dictionary)
    print_log(f'OnlineSynthPlateDataset: {len(labels)} plates of {path} will not be rendered',
              logger='current', level=logging.DEBUG)
    return labels


def _track_list_labels(path: str, folders: List[str], dictionary) -> Set[str]:
    """The ``plate_text`` of the track folders a track list names (an ICPR
    split, ``tools/split_tracks.py``'s), its lines read below the list's
    folder or one of the two above it (``data_root/splits/val.txt`` names
    folders below ``data_root``); refused where none holds them all."""
    from .lrlpr_track_dataset import read_plate_text
    here = osp.dirname(osp.abspath(path))
    for root in (here, osp.dirname(here), osp.dirname(osp.dirname(here))):
        found = [osp.join(root, f) for f in folders]
        if all(osp.isfile(osp.join(f, 'annotations.json')) for f in found):
            return {dictionary.normalize(text.strip()) for text in
                    (read_plate_text(osp.join(f, 'annotations.json')) for f in found) if text}
    raise DataSourceError(
        f'exclude_ann_files: {path} holds no label (no line has a TAB before its text), and '
        f'its lines are no track folders below its folder or the two above it (e.g. '
        f'{folders[0]!r}): give the folder of those track folders (the plate_text of every '
        'annotations.json below it is excluded), or their label files')


def _track_folder_labels(folder: str, dictionary) -> Set[str]:
    """The ``plate_text`` of every ``annotations.json`` below ``folder`` (an
    ICPR release or split); a folder holding none is an error, as a label
    file that lists none is."""
    from .lrlpr_track_dataset import find_track_folders, read_plate_text

    labels = set()
    for track in find_track_folders(folder):  # symlinked scenarios too, as the set reads them
        text = read_plate_text(osp.join(track, 'annotations.json'))
        if text:
            labels.add(dictionary.normalize(text.strip()))
    if not labels:
        raise DataSourceError(
            f'exclude_ann_files: {folder} is a folder, and no annotations.json with a '
            'plate_text lies below it (ICPR track folders); give its label files instead')
    return labels
