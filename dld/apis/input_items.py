"""Expanding the inferencer's inputs (paths, folders, label files, arrays) into items.

One :class:`InputItem` is one image to read. An input that cannot even be
expanded (a missing path, a label file that does not parse) becomes one item
that already carries its error, so it still gets a record.
"""
import logging
import numbers
import os
import os.path as osp
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from dld.datasets.lrlpr_track_dataset import (
    files_not_frames,
    is_track_folder,
    named_like_frame,
    no_lr_frames,
    read_plate_text,
    track_frame,
)
from dld.datasets.transforms.loading import IMAGE_EXTENSIONS

from .image_input import is_image_file, is_label_file, list_image_folder


@dataclass
class InputItem:
    """One image to recognise.

    Attributes:
        source (str): what the user gave: a path, or ``'array[i]'`` or
            ``'bytes[i]'`` (``i`` its position among all the inputs of the call).
        path (str | None): the image file, when there is one, absolute (a record
            names the same image alike from any working directory).
        array (np.ndarray | None): the image, when given in memory.
        encoded (bytes | None): the image file's bytes, when given in memory
            (a request body, say), decoded as a file is.
        gt_text (str | None): the label, when a label file gave one.
        track_id (str | None): the track the image belongs to, for voting.
        frame_idx (int): the frame's index in its track.
        error (str | None): set when the input could not be expanded.
        annotation (str | None): ``'file:line'`` of the label file line
            that listed it, so that an error reading it names that line.
    """

    source: str
    path: Optional[str] = None
    array: Optional[np.ndarray] = None
    encoded: Optional[bytes] = None
    gt_text: Optional[str] = None
    track_id: Optional[str] = None
    frame_idx: int = 0
    error: Optional[str] = None
    annotation: Optional[str] = None


InputType = Union[str, os.PathLike, np.ndarray, bytes]

#: Inputs that are one image (or one folder / label file) each, never a list.
ENCODED_TYPES = (bytes, bytearray, memoryview)
SINGLE_TYPES = (str, os.PathLike, np.ndarray) + ENCODED_TYPES
ACCEPTED = ('a path (image, folder or label file), a numpy array (H, W[, C]), the bytes of an '
            'encoded image, or a list of these')


class _Track(NamedTuple):
    """What makes frames one track.

    ``parts``: the path components of its folder (a label file's track: the
    label file's, then its track id); ``shown``: how many trailing parts its
    id shows when no other track's id collides; ``numbered``: whether its
    frames are numbered here, in input order (a label file numbers its own).
    """

    parts: Tuple[str, ...]
    shown: int = 1
    numbered: bool = True


#: The track of the images a call gives in memory, when it asks for one:
#: no folder's, whose parts start at the root (a folder named so is told
#: apart by its parent, as any two folders of one name are).
MEMORY_TRACK = _Track(('in-memory', ))


def expand_inputs(inputs: Union[InputType, Sequence[InputType]],
                  label_dataset_cfg: Optional[dict] = None,
                  stream: str = 'lr', memory_track: bool = False,
                  track_root: Optional[str] = None) -> List[InputItem]:
    """Items for ``inputs``, in the order given (folders sorted, recursive).

    * an image path: one item; track = its folder's name;
    * a folder: every image file below it (by extension, sorted); track = the
      sub-folder relative to the folder (its own name for files at the top).
      A track folder of the ICPR layout (:class:`~dld.datasets.LRLPRTrackDataset`:
      it holds ``lr-*`` frames) gives only its ``stream`` frames, in frame
      order, labelled by its ``annotations.json`` (one error item when it
      has none of them); an ``lr-K``/``hr-K`` image given by path takes
      that label too;
    * a label file (``.txt``, ``.tsv``, ``.lst``, ``.list``): every frame of
      ``stream`` it lists, with its label and track (see
      :class:`~dld.datasets.PairedPlateDataset`); paths are relative to the
      label file's folder;
    * a numpy array ``(H, W[, C])``: one item (no track);
    * ``bytes`` (``bytearray``, ``memoryview``) of an encoded image, e.g. a
      request's body: one item (no track), decoded as a file is.

    With ``memory_track`` the arrays and bytes are the frames of one track,
    ``in-memory``, in the order given (a service hands over the crops of one
    vehicle so).

    With ``track_root`` a track's id is its folder's path below that folder
    (``cam00/trk0000``; ``.`` for images in it), whatever else the call
    reads: runs over parts of one tree (one camera each, on several
    machines) give the ids one run over it would, so their votes join. Every
    path input must then lie below it (a ``ValueError`` names the first that
    does not); a label file's track is the file's path below it, then its
    track id (``test.txt/track_001``).

    A track is one folder on disk (or one track of one label file): images of
    the same folder are frames of one track, numbered in input order, however
    they were given. Two different tracks that would get the same id (two
    cameras' ``track_001/``, two folders named ``plates``) are told apart by
    their parent folders: ``camA/track_001``, ``camB/track_001``.

    Args:
        label_dataset_cfg (dict, optional): extra arguments of the
            :class:`PairedPlateDataset` that parses label files (e.g. the
            config's ``dictionary``); a ``data_root`` there is not the
            files' (a label file's paths are relative to its folder): it is
            named where a label file's images are below it, not beside it.
        stream (str): which frames of a label file the student reads:
            ``'lr'``, or ``'hr'`` in the efficiency setting, where it reads
            the HR crop (its tracks without HR frames are then skipped, and
            logged, like bad lines).
        track_root (str, optional): the folder track ids are paths below.
    """
    if stream not in ('lr', 'hr'):
        raise ValueError(f"stream must be 'lr' or 'hr', got {stream!r}")
    inputs = _as_input_list(inputs)
    root = _root_parts(track_root, inputs)
    in_memory = MEMORY_TRACK if memory_track else None
    keyed: List[Tuple[InputItem, Optional[_Track]]] = []
    given: dict = {}  # an image's path -> the inputs that gave it
    for i, inp in enumerate(inputs):
        if isinstance(inp, np.ndarray):
            keyed.append((InputItem(source=f'array[{i}]', array=inp), in_memory))
        elif isinstance(inp, ENCODED_TYPES):
            data = bytes(inp)
            keyed.append((InputItem(source=f'bytes[{i}]', encoded=data,
                                    error=_path_as_bytes(data)), in_memory))
        elif isinstance(inp, (str, os.PathLike)):
            found = _expand_path(os.fspath(inp), label_dataset_cfg, stream)
            for item, _ in found:
                if item.path is not None:
                    given.setdefault(osp.abspath(item.path), []).append(os.fspath(inp))
            keyed.extend(found)
        else:
            keyed.append((InputItem(source=f'input[{i}]', error=_unsupported(inp)), None))
    _warn_of_other_stream_frames(inputs, stream)
    _warn_of_images_given_twice(given)
    _name_tracks(keyed, root)
    return [item for item, _ in keyed]


def _warn_of_images_given_twice(given: dict) -> None:
    """One warning where inputs overlap (a track folder and the folder above
    it): each image is read, counted and voted in its track as often as it
    is given (a 5-frame track voted 15 images, the note blaming the folder
    layout). An HR frame a label file lists for several LR frames is one
    input's, not said."""
    from mmengine.logging import print_log
    twice = {path: sources for path, sources in given.items() if len(set(sources)) > 1}
    if twice:
        path, sources = next(iter(twice.items()))
        print_log(f'{len(twice)} image(s) are given by more than one input, e.g. {path} by '
                  f"{' and '.join(repr(s) for s in dict.fromkeys(sources))}: each is read, "
                  'counted and voted in its track once for each; give inputs that do not '
                  'overlap', logger='current', level=logging.WARNING)


def _root_parts(track_root: Optional[str], inputs: list) -> Optional[Tuple[str, ...]]:
    """The path components of ``track_root``, checked (:func:`track_root_problem`)."""
    if track_root is None:
        return None
    problem = track_root_problem(track_root, inputs)
    if problem:
        raise ValueError(problem)
    return _path_parts(os.fspath(track_root))


def track_root_problem(track_root: Union[str, os.PathLike], inputs: Sequence) -> str:
    """Why ``track_root`` cannot name the tracks of ``inputs`` ('' if it can):
    no folder, or a path input not below it (its ids could not be paths
    below it)."""
    track_root = os.fspath(track_root)
    if not osp.isdir(track_root):
        return f'track root {track_root!r}: no such folder'
    root = _path_parts(track_root)
    for inp in inputs:
        if isinstance(inp, (str, os.PathLike)) and \
                _path_parts(os.fspath(inp))[:len(root)] != root:
            return (f'{os.fspath(inp)!r} is not below the track root {track_root!r}: track '
                    'ids are paths below it; give a folder above every input')
    return ''


def _path_parts(path: str) -> Tuple[str, ...]:
    """``path``'s absolute components (``/`` is ``('',)``, above everything)."""
    return tuple(osp.abspath(path).rstrip(osp.sep).split(osp.sep))


def _as_input_list(inputs) -> list:
    """``inputs`` as a list of single inputs. One path, array or bytes is a
    list of one; a tensor, a number, None or a torch DataLoader is refused
    whole: iterated, a tensor's rows, a file's bytes or a loader's batches
    became one bogus error record each."""
    if isinstance(inputs, SINGLE_TYPES):
        return [inputs]
    if (inputs is None or isinstance(inputs, (numbers.Number, dict, torch.Tensor))
            or type(inputs).__module__.startswith('torch.utils.data')  # its batches
            or not isinstance(inputs, Iterable)):
        raise TypeError(f'inputs: {_unsupported(inputs)}')
    return list(inputs)


def _unsupported(obj) -> str:
    """Why ``obj`` is no input, with what to do for a tensor."""
    if isinstance(obj, torch.Tensor):
        return (f'a torch {type(obj).__name__} is not an input: give tensor.cpu().numpy(), '
                f'(H, W, C) BGR, or {ACCEPTED}')
    name = 'None' if obj is None else type(obj).__name__
    return f'unsupported input type {name}; give {ACCEPTED}'


def _path_as_bytes(data: bytes) -> Optional[str]:
    """The error for bytes that spell a path (``b'/data/a.png'``), not an
    encoded image; None for any other bytes."""
    if len(data) > 4096 or not data.strip():
        return None
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    if is_image_file(text.strip()) or osp.exists(text):
        return f'bytes that spell a path ({text.strip()!r}); give a path as str'
    return None


def _folder_track(folder: str, shown: int = 1) -> _Track:
    return _Track(_path_parts(folder), shown)


def _name_tracks(keyed: List[Tuple[InputItem, Optional[_Track]]],
                 root: Optional[Tuple[str, ...]] = None) -> None:
    """Give each track an id no other track has (more parent folders where
    ids collide; below ``root``, its path there) and number the frames of
    folder tracks."""
    fixed: dict = {}  # below the root: the path there, whatever else is read
    shown: dict = {}
    for _, track in keyed:
        if track is None:
            continue
        if root is not None and track.parts[:len(root)] == root:
            fixed[track.parts] = '/'.join(track.parts[len(root):]) or '.'
        else:
            shown[track.parts] = max(shown.get(track.parts, 0), track.shown)
    while True:
        owners: dict = {name: [parts] for parts, name in fixed.items()}
        for parts, n in shown.items():
            owners.setdefault('/'.join(parts[-n:]), []).append(parts)
        clashes = [p for ps in owners.values() if len(ps) > 1 for p in ps
                   if p in shown and shown[p] < len(p)]
        if not clashes:  # absolute paths differ: every clash ends here
            break
        for parts in clashes:
            shown[parts] += 1
    frames: dict = {}
    for item, track in keyed:
        if track is None:
            continue
        item.track_id = fixed.get(track.parts) or '/'.join(track.parts[-shown[track.parts]:])
        if track.numbered:
            item.frame_idx = frames.get(track.parts, 0)
            frames[track.parts] = item.frame_idx + 1


def _warn_of_other_stream_frames(inputs: list, stream: str) -> None:
    """One warning for ``lr-K`` frames given by path to a model that reads
    the HR crop (the efficiency setting), or ``hr-K`` frames to one that
    reads the LR frame: read as given, without a word, a 15x45 LR frame was
    read upscaled by an HR student (a folder gives the right frames)."""
    from mmengine.logging import print_log
    other = 'hr' if stream == 'lr' else 'lr'
    given = [os.fspath(p) for p in inputs if isinstance(p, (str, os.PathLike))
             and not osp.isdir(p) and not is_label_file(os.fspath(p))
             and (track_frame(osp.basename(os.fspath(p))) or ('', 0))[0] == other]
    if given:
        print_log(f'{len(given)} image(s) given by path are {other}-* frames (e.g. {given[0]}), '
                  f'but this model reads the {stream.upper()} frame of a track: they are read '
                  f'as given; give the {stream}-* frames (or their track folder)',
                  logger='current', level=logging.WARNING)


def _expand_path(path: str, label_dataset_cfg: Optional[dict],
                 stream: str) -> List[Tuple[InputItem, Optional[_Track]]]:
    if osp.isdir(path):
        return _expand_folder(path, label_dataset_cfg, stream)
    if is_label_file(path) and osp.isfile(path):
        return _expand_label_file(path, label_dataset_cfg, stream)
    # Anything else is taken as an image; reading it reports what is wrong.
    gt_text = problem = None
    if track_frame(osp.basename(path)) is not None:
        gt_text, problem = _track_label(osp.dirname(path), _label_dictionary(label_dataset_cfg))
    if problem:  # as a label file's line of such a label: refused, with the reason
        return [(InputItem(source=path, error=problem), _folder_track(osp.dirname(path)))]
    return [(InputItem(source=path, path=osp.abspath(path), gt_text=gt_text),
             _folder_track(osp.dirname(path)))]


def _expand_folder(path: str, label_dataset_cfg: Optional[dict],
                   stream: str) -> List[Tuple[InputItem, Optional[_Track]]]:
    """Every image below ``path``; in a track folder of the ICPR layout (one
    holding ``lr-*`` or ``hr-*`` frames or an ``annotations.json``,
    :class:`~dld.datasets.LRLPRTrackDataset`)
    only the ``stream`` frames, in frame order, labelled by its
    ``annotations.json`` (one error item where it has none: HR crops read
    by an LR student, unlabelled, would be wrong answers, not errors)."""
    root = path  # its images named joined to it as given (input), read at their absolute path
    files = list_image_folder(root)
    if not files:
        return [(InputItem(source=path, error='folder holds no image files'), None)]
    by_folder: dict = {}
    for f in files:  # os.walk order: one folder's files together
        by_folder.setdefault(osp.dirname(f), []).append(f)
    items: List[Tuple[InputItem, Optional[_Track]]] = []
    dictionary = None
    not_frames: List[str] = []  # other images of track folders: said, not read
    both_streams: List[str] = []  # folders of lr_* and hr_* images, read alike
    for folder, names in by_folder.items():
        rel = osp.relpath(folder, root)
        track = _folder_track(folder, 1 if rel == '.' else len(rel.split(osp.sep)))
        frames = {f: track_frame(osp.basename(f)) for f in names}
        listed = os.listdir(folder)  # every file, images or not
        if not is_track_folder(folder, listed):
            items.extend((InputItem(source=f, path=osp.abspath(f)), track) for f in names)
            if {named_like_frame(osp.basename(f)) for f in names} >= {'lr', 'hr'}:
                both_streams.append(folder)
            continue
        # lr-K and hr-K are two views of one frame: the model reads one of them.
        chosen = sorted((k[1], f) for f, k in frames.items() if k is not None and k[0] == stream)
        numbers = [k for k, _ in chosen]
        twice = sorted(k for k, n in Counter(numbers).items() if n > 1)
        dictionary = dictionary or _label_dictionary(label_dataset_cfg)
        gt_text, problem = _track_label(folder, dictionary)
        if problem:  # as a label file's line of such a label: one record, the reason
            items.append((InputItem(source=folder, error=problem), track))
            continue
        if not chosen or twice:
            # One error record in the track: its vote then says the track
            # was not read, instead of leaving it out of the answers.
            names = ', '.join(osp.basename(f) for k, f in chosen if k in twice)
            what = f' ({no_lr_frames(listed)})' if stream == 'lr' else ''
            error = (f'track folder without {stream}-* frames{what}: this model reads the '
                     f'{stream.upper()} frame of each track' if not chosen else
                     # lr-1.png and lr-001.jpg: which is the frame? (the dataset refuses it too)
                     f'track folder with frame number(s) {twice} twice ({names})')
            items.append((InputItem(source=folder, gt_text=gt_text, error=error), track))
            continue
        items.extend((InputItem(source=f, path=osp.abspath(f), gt_text=gt_text), track)
                     for _, f in chosen)
        not_frames += [osp.join(folder, n) for n in files_not_frames(listed)]
    _warn_of_images_not_frames(path, not_frames)
    if both_streams:  # each such folder's LR and HR crops were voted as one track
        from mmengine.logging import print_log
        print_log(f'{path}: {len(both_streams)} folder(s) hold lr_* and hr_* images side by '
                  f'side, e.g. {both_streams[0]}: read as plain images, LR and HR crops alike, '
                  f'one track a folder; name the frames lr-<N> and hr-<N> (a track folder, of '
                  f'which the {stream.upper()} frames are read) or list them in a label file',
                  logger='current', level=logging.WARNING)
    return items


def _warn_of_images_not_frames(folder: str, paths: List[str]) -> None:
    """One warning for the images of track folders that are no ``lr-K`` /
    ``hr-K`` frame: a folder holding any frame is read as a track, its
    other images left out (they were, without a word)."""
    from mmengine.logging import print_log
    if paths:
        print_log(f'{folder}: {len(paths)} file(s) in track folders (folders of lr-K / hr-K '
                  f'frames) are not read, being no frame, e.g. {paths[0]}: a frame is lr-<N> or '
                  f"hr-<N> with an image ending, {' '.join(IMAGE_EXTENSIONS)}; other images are "
                  'read in a folder of their own', logger='current', level=logging.WARNING)


def _track_label(folder: str, dictionary) -> Tuple[Optional[str], str]:
    """The ``plate_text`` of ``folder/annotations.json``, normalised by the
    test set's ``dictionary`` as the datasets normalise labels, and why it
    cannot be a label ('' if it can). The text is None without a readable,
    non-empty one: inference goes on, the frames unlabelled, and a file that
    cannot be read is a warning naming it (the accuracy over the labelled
    images would otherwise leave its track out without a word). A label the
    dictionary cannot encode ('RLI-4088') is refused, as the datasets and a
    label file's line refuse it: the model could never read it right."""
    from mmengine.logging import print_log

    from dld.datasets.errors import PlateAnnotationError
    where = osp.join(folder, 'annotations.json')
    try:
        text = read_plate_text(where)
    except (OSError, PlateAnnotationError) as err:
        print_log(f'{err}; its frames are read unlabelled', logger='current',
                  level=logging.WARNING)
        return None, ''
    text = (text or '').strip()
    if not text:
        return None, ''
    problem = dictionary.label_problem(text)
    if problem:
        return None, f'track not read: {where}: {problem}'
    return dictionary.normalize(text), ''


def _label_dictionary(label_dataset_cfg: Optional[dict]):
    """The test set's dictionary (upper case unless it is case sensitive;
    the characters a label may hold), built once for all the tracks of an
    input."""
    from .model_loading import dataset_dictionary
    return dataset_dictionary(label_dataset_cfg)


def _expand_label_file(path: str, label_dataset_cfg: Optional[dict],
                       stream: str) -> List[Tuple[InputItem, Optional[_Track]]]:
    from dld.datasets import PairedPlateDataset
    kwargs: dict = dict(label_dataset_cfg or {})
    config_root = kwargs.pop('data_root', None)  # the config's: named if the images are there
    kwargs.update(ann_file=osp.abspath(path), data_root=osp.dirname(osp.abspath(path)),
                  frames='all', load_hr=stream == 'hr', allow_empty_text=True, test_mode=True,
                  strict=False, serialize_data=False, lazy_init=True,
                  # built, never run: it tells the set which frames the model
                  # reads, so an LR-only line for an HR model says so
                  pipeline=[dict(type='LoadPlateImages', with_lr=stream == 'lr',
                                 with_hr=stream == 'hr')],
                  # A missing image becomes that item's error when it is read,
                  # so one absent file does not turn the whole list into one.
                  check_files=False)
    label_parts = _folder_track(path).parts

    def line_track(track: str) -> _Track:
        # a folder outside the file's (absolute paths): named by its last
        # parts, as a folder given is
        return (_folder_track(track)._replace(numbered=False) if osp.isabs(track) else
                _Track(label_parts + (track, ), numbered=False))

    def refused(err) -> Tuple[int, Tuple[InputItem, Optional[_Track]]]:
        # A line the set cannot take (a label outside the dictionary, a
        # broken line) is a record of its own, not an image count quietly
        # smaller, and a track, the set's id for it ('line<N>' where none was
        # read), so that the track votes list it as not read.
        return _line_number(err.where), (
            InputItem(source=err.where, error=f'label line not read: {err.reason}',
                      annotation=err.where),
            line_track(err.track_id))

    dataset = None
    try:
        dataset = PairedPlateDataset(**kwargs)
        dataset.full_init()
    except Exception as err:  # noqa: BLE001 - any parse failure becomes a record
        bad = getattr(dataset, 'bad_annotations', None)
        if not bad:
            return [(InputItem(source=path, error=f'cannot read label file: {err}'), None)]
        # Every line refused: one record each, saying why, as for some.
        return [item for _, item in sorted((refused(e) for e in bad), key=lambda x: x[0])]
    lines: List[Tuple[int, Tuple[InputItem, Optional[_Track]]]] = []
    # the set's own items, not get_data_info's deep copy of each (13 s of 250,000);
    # frames='all': an item holds exactly its frame
    for info in dataset.data_list:
        image = info[f'{stream}_paths'][0]
        lines.append((_line_number(info.get('annotation')),
                      (InputItem(source=image, path=image, gt_text=info.get('gt_text') or None,
                                 frame_idx=int(info.get('frame_idx') or 0),
                                 annotation=info.get('annotation')),
                       line_track(str(info['track_id'])))))
    _warn_of_images_not_there(path, [item.path for _, (item, _) in lines], config_root)
    # refused lines come where they are, so the records read in the file's order
    lines.extend(refused(err) for err in dataset.bad_annotations)
    if not lines:
        return [(InputItem(source=path, error='label file lists no usable image'), None)]
    lines.sort(key=lambda line_item: line_item[0])  # stable: a line's frames stay in order
    return [item for _, item in lines]


def _warn_of_images_not_there(label_file: str, paths: List[str],
                              config_root: Optional[str] = None) -> None:
    """One warning where a label file's images are not where it is read
    from: none of them there (paths read from another folder than the
    file's: each image's 'no such file' record said nothing of where they
    were looked for), or some missing that are below the config's
    ``config_root`` (a label file kept in a folder of lists: tools/test.py
    read it from the data root, infer.py from its own folder)."""
    from mmengine.logging import print_log
    folder = osp.dirname(osp.abspath(label_file))
    elsewhere = bool(config_root) and osp.abspath(config_root) != folder
    if not paths or (not elsewhere and any(osp.exists(p) for p in paths)):
        return  # every path is looked at only where another root may hold them
    missing = [p for p in paths if not osp.exists(p)]
    there = []
    if missing and elsewhere:
        there = [p for p in missing if not osp.relpath(p, folder).startswith('..')
                 and osp.exists(osp.join(config_root, osp.relpath(p, folder)))]
    if there:
        print_log(f'{label_file}: {len(there)} of the {len(paths)} image(s) it lists are not '
                  f"beside it but below the config's data_root {config_root}, e.g. "
                  f'{osp.relpath(there[0], folder)}: a label file given here is read relative '
                  'to its own folder (tools/test.py reads the config\'s from its data_root); '
                  'put the file in the data root, or its paths relative to its folder',
                  logger='current', level=logging.WARNING)
    elif paths and len(missing) == len(paths):
        print_log(f'{label_file}: none of the {len(paths)} image(s) it lists is there, read '
                  f'relative to its folder {folder} (a label '
                  f"file's paths are relative to the file's own folder), e.g. {paths[0]}",
                  logger='current', level=logging.WARNING)


def _line_number(where: Optional[str]) -> int:
    """The line of a ``'file:line'`` annotation; 0 (first) when it names none."""
    tail = (where or '').rsplit(':', 1)[-1]
    return int(tail) if tail.isdigit() else 0

