"""``PlateRecognizer``: read plates with a trained DLD student and its selector.

An MMEngine-style inferencer (``preprocess`` -> ``forward`` -> ``visualize``
-> ``postprocess``) with two differences that inference on real data needs:

* bad input never stops a batch: each image is read and preprocessed on its
  own, and a failure becomes an error record for that image only;
* images are drawn as each chunk is done, so memory holds one chunk of images,
  not the whole input.

Preprocessing is the config's test pipeline minus its loading step (the
inferencer reads images itself, robustly, decoding them as the datasets do)
and minus any step that makes the student's input from the HR frame (the
image given is that input), then the model's data preprocessor: exactly what
evaluation does. A pipeline that packs the HR frame (an HR teacher's) gets
the image as its HR frame.
"""
import copy
import logging
import numbers
import os
import os.path as osp
import threading
from typing import (
    Callable,
    Collection,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log

from dld.evaluation.metrics import as_layouts
from dld.models.recognizers.text_recognizer import untrained_scale_warning
from dld.reading_limits import MAX_SCALE
from dld.registry import TRANSFORMS
from dld.structures import PlateDataSample
from dld.utils.char_names import upper_each
from dld.utils.config_types import type_name
from dld.utils.listing import first_and_more
from dld.utils.precision import autocast_to, resolve_amp
from dld.utils.registry_hints import registry_hints
from dld.utils.trained_input_size import warn_if_recognizer_other_input_size

from .image_input import (
    DEFAULT_MAX_PIXELS,
    ImageInputError,
    decode_image_bytes,
    normalize_image,
    read_image_file,
)
from .input_items import InputItem, expand_inputs
from .model_loading import init_model, leaf_dataset, load_config, resolve_device
from .plate_matching import (
    check_track_voting,
    plate_metric_case_sensitive,
    plate_read_right,
    track_metric_voting,
)
from .prediction_drawing import save_visualization
from .scaled_prediction import (
    RecognizerCosts,
    base_size_of,
    check_decoding,
    decoding,
    is_distiller,
    predict_at_scale,
    recognizer_of,
)

#: Names of the loading step (:func:`~dld.utils.config_types.type_name` of its ``type``).
LOADING_TRANSFORMS = ('LoadPlateImages', )

#: True in a process forked after this module (and torch) was imported,
#: until a recognizer is built there: see :func:`_one_thread_if_forked`.
_forked = False


def _note_fork_in_child() -> None:
    global _forked
    _forked = True


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_note_fork_in_child)


def _one_thread_if_forked() -> None:
    """In a process forked from one that had imported torch (a ``fork``
    pool's ``initializer``, gunicorn's ``post_fork``), build and read with
    one thread, as torch's DataLoader workers do, said once: where the
    parent had run a torch op on several threads (built or used a
    recognizer, any convolution), torch's OpenMP pool, which does not
    survive a fork, hung the worker while it built its recognizer, for
    ever and without a word. The ``spawn`` and ``forkserver`` start
    methods keep torch's threads."""
    global _forked
    if not _forked:
        return
    _forked = False
    if torch.get_num_threads() > 1:
        torch.set_num_threads(1)
        print_log('PlateRecognizer: built in a process forked from one that had imported '
                  "torch: reading with 1 thread (torch's thread pool does not survive a fork, "
                  'and hung such workers); start workers with the "spawn" or "forkserver" '
                  'method to use more', logger='current', level=logging.WARNING)


class ReadingInterrupted(KeyboardInterrupt):
    """Ctrl-C while a call reads its inputs. ``result``: the call's result
    over the images read before it (whole batches, tracks voted over the
    frames read, a track cut short with ``num_unread``), so that a caller
    (tools/infer.py) keeps them; ``total``: how many images the call had;
    ``unread``: ``{track id: frames not read}`` of the tracks it did not
    read whole (a caller that votes over more records marks them too)."""

    def __init__(self, result: dict, total: int, signal_name: str = '',
                 unread: Optional[Dict[str, int]] = None) -> None:
        super().__init__(signal_name)
        self.result = result
        self.total = total
        self.unread = dict(unread or {})


class PlateRecognizer(BaseInferencer):
    """Recognise plates with a DLD checkpoint (student + selector) and its config.

    Args:
        model (str | Config): the config (path or object) the checkpoint was
            trained with (``configs/dld_plate*.py``). A plain recognizer
            config (``TextRecognizer``) works too, an HR teacher's included:
            it then reads every image at scale 1.0 of its test pipeline's
            input size unless told otherwise.
        weights (str | os.PathLike): the checkpoint; a DLD checkpoint whose
            ``teacher.*`` weights were removed is enough. Required: None is
            refused unless ``random_weights=True`` (an unset path would
            otherwise serve readings of an untrained model).
        device (str, optional): e.g. ``'cpu'``, ``'cuda:0'``; default: CUDA
            when available, else the CPU. A CUDA device the machine lacks is
            a ``ValueError``.
        batch_size (int): images per forward. A batch costs one student
            forward per scale the selector chose in it.
        max_pixels (int | None): larger images are refused (error record);
            None: no limit.
        show_progress (bool): a progress bar on stderr.
        amp (bool): read in mixed precision: float16 on CUDA, bfloat16 on a
            CPU with native bfloat16 (AVX512-BF16 or AMX; 1.4 to 1.9x the
            images/s there, docs/inference.md); ignored with a warning where
            float32 is faster. Scores and beam search stay float32.
        random_weights (bool): read with the config's random initialisation
            (timing, tests); ``weights`` must then be None.

    One instance may be shared between threads: its calls run one at a
    time (a call sets the recognizer's decoding for its length, and traces
    the FLOPs of a scale or beam width it meets first, about 0.1 to 0.2 s
    once on a CPU). For reading in parallel, give each thread or process
    its own instance.

    Example:
        >>> rec = PlateRecognizer('configs/dld_plate.py', 'student.pth', device='cpu')
        >>> out = rec(['a.png', 'plates/'], track=True)
        >>> out['predictions'][0]['text'], out['predictions'][0]['scale']
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = {'scale', 'beam_width', 'topk'}
    visualize_kwargs: set = {'vis_dir'}
    postprocess_kwargs: set = {'track', 'layouts', 'vote'}

    def __init__(self, model: Union[str, os.PathLike, Config],
                 weights: Optional[Union[str, os.PathLike]] = None,
                 device: Optional[str] = None, batch_size: int = 32,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 show_progress: bool = False, amp: bool = False,
                 random_weights: bool = False) -> None:
        _one_thread_if_forked()  # before any torch op: building runs some
        self.batch_size = _checked_batch_size(batch_size)
        self.max_pixels = _checked_max_pixels(max_pixels)
        weights = _checked_weights(weights, random_weights)
        cfg = load_config(model)
        # MMEngine's default would be any accelerator it finds (MPS, NPU...).
        device = str(resolve_device(device))
        # the layers' random initialisation (the weights replace it) drew from
        # torch's global generator: a user's seeded stream moved on by building
        with torch.random.fork_rng(devices=[]):
            super().__init__(model=cfg, weights=weights, device=device,
                             scope=cfg.get('default_scope', 'dld'), show_progress=show_progress)
        self.recognizer = recognizer_of(self.model)
        self._pid = os.getpid()  # a reader forked off (a service's worker): _forked_guard
        self.base_size = base_size_of(self.model, self.pipeline.transforms, self.image_stream)
        _check_pipeline_size(self.model, self.pipeline.transforms, self.image_stream)
        if not is_distiller(self.model):  # a distiller's base_size is checked on load
            warn_if_recognizer_other_input_size(
                getattr(self.model, 'trained_input_size', None), self.base_size, str(weights),
                self.image_stream)
        self.costs = _costs_of(self.model, self.base_size)
        # Drawings mark a reading right as the config's plate metric counts it.
        self.case_sensitive = plate_metric_case_sensitive(self.cfg)
        # Tracks vote as the config's track metric votes; a bad layout or
        # vote fails now, not after every image was read.
        self.track_voting = track_metric_voting(self.cfg)
        check_track_voting(**self.track_voting)
        self.device_type = next(self.model.parameters()).device.type
        self.amp_dtype = resolve_amp(self.device_type, amp)
        # One call at a time: a call sets the recognizer's decoding for its
        # length, and the FLOPs of a new scale are counted on first use.
        self._call_lock = threading.Lock()
        self._num_drawn = 0  # drawings are numbered across calls: none overwritten
        self._untrained_scales_said: set = set()

    def __reduce__(self):
        """Refused with what to do: pickle's own error named a lock
        (``cannot pickle '_thread.lock' object``), and a model rebuilt
        from its files wherever a pool sends a task would load the
        checkpoint again each time."""
        raise TypeError(
            f'{type(self).__name__} cannot be pickled or copied (a spawned worker, '
            'pool.map(recognizer, ...), copy.deepcopy): build one in each worker process, '
            'e.g. in the initializer of multiprocessing.Pool, from the config and checkpoint '
            '(docs/inference.md, "In a service")')

    def _warn_if_untrained_scale(self, scale: Optional[float]) -> None:
        """Once per scale: a student with BatchNorm statistics per trained
        scale reads another with the nearest one's, silently otherwise."""
        if scale is None or scale in self._untrained_scales_said:
            return
        self._untrained_scales_said.add(scale)
        warning = untrained_scale_warning(self.recognizer, self.base_size, scale,
                                          f'scale {scale:g}')
        if warning:
            print_log(warning, logger='current', level=logging.WARNING)

    # ------------------------------------------------------------ building
    def _init_model(self, cfg: Config, weights: Optional[str], device: str = 'cpu'):
        model, _ = init_model(cfg, weights, device=device)
        model.cfg = cfg
        return model

    def _init_pipeline(self, cfg: Config) -> Compose:
        """The test pipeline without its loading step (images come read) and
        without the steps that make the student's input from the HR frame
        (those with an ``inference_input``): the image given is that input
        already, the HR crop in the efficiency setting (``CopyHRToLR``), the
        LR frame otherwise. A pipeline that packs the HR frame as the model's
        input (``PackPlateInputs(main_stream='hr')``, an HR teacher) is given
        the image as that HR frame (``image_stream``, which also says which
        resize applies). ``input_stream`` is which frames of a paired label
        file are read. A test set of several (``ConcatDataset``) gives its
        first set's (it was an AttributeError)."""
        steps = copy.deepcopy(list(self._test_set(cfg)['pipeline']))
        self.color_type = 'color'
        self.input_stream = 'lr'
        kept = []
        for step in steps:
            if type_name(step.get('type')) in LOADING_TRANSFORMS:  # the class too
                self.color_type = step.get('color_type', 'color')
                continue
            kind = step.get('type')
            transform = kind if isinstance(kind, type) else TRANSFORMS.get(kind)
            stream = getattr(transform, 'inference_input', None)
            if stream is not None:
                self.input_stream = stream
                continue
            kept.append(step)
        with registry_hints():
            pipeline = Compose(kept)
        self.image_stream = 'lr'
        if any(getattr(t, 'main_stream', None) == 'hr' for t in pipeline.transforms):
            self.image_stream = self.input_stream = 'hr'
        return pipeline

    def _init_collate(self, cfg: Config):
        return pseudo_collate

    def _init_visualizer(self, cfg: Config):
        return None  # drawing is done by dld.apis.prediction_drawing

    @property
    def label_dataset_cfg(self) -> dict:
        """What label files are parsed with: the test set's dictionary; and
        its ``data_root``, named where a label file's images are there and
        not beside the file (whose folder is a label file's root here)."""
        ds = self._test_set(self.cfg)
        cfg = {'dictionary': copy.deepcopy(ds['dictionary'])} if 'dictionary' in ds else {}
        if isinstance(ds.get('data_root'), str) and ds['data_root']:
            cfg['data_root'] = ds['data_root']
        own = self._model_dictionary_where_other(cfg.get('dictionary'))
        if own is not None:
            cfg['dictionary'] = own
        return cfg

    def _model_dictionary_where_other(self, dataset_dictionary_cfg):
        """The model's decoder dictionary where the test set's holds other
        characters (or case; their order is no label's): labels are then
        checked against what the model reads, said once. Decoders set to a
        dictionary of one's own, the test set's left at the plate one,
        refused every line of a label file."""
        model_dict = getattr(getattr(self.recognizer, 'decoder', None), 'dictionary', None)
        if not hasattr(model_dict, 'num_chars'):
            return None
        from .model_loading import dataset_dictionary
        ours = dataset_dictionary({'dictionary': dataset_dictionary_cfg}
                                  if dataset_dictionary_cfg is not None else None)

        def spelt(d) -> tuple:  # what a label may hold: the characters, and their case
            return ''.join(sorted(d.dict[:d.num_chars])), bool(d.case_sensitive)

        (set_chars, set_case), (own_chars, own_case) = spelt(ours), spelt(model_dict)
        if (set_chars, set_case) == (own_chars, own_case):
            return None
        if not getattr(self, '_other_label_dictionary_said', False):
            self._other_label_dictionary_said = True
            other = (f'holds other characters than the model\'s decoder ({set_chars!r} '
                     f'against {own_chars!r})' if set_chars != own_chars else
                     f'is {"" if set_case else "not "}case sensitive, the model\'s decoder '
                     f'{"" if own_case else "not "}so')
            print_log(f"test_dataloader.dataset.dictionary {other}: labels are checked "
                      "against the model's, what it can read.", logger='current',
                      level=logging.WARNING)
        return model_dict

    @staticmethod
    def _test_set(cfg: Config) -> dict:
        """The config's test set, the first inside a dataset wrapper."""
        dataset = leaf_dataset(cfg.test_dataloader.dataset)
        if not isinstance(dataset, dict) or 'pipeline' not in dataset:
            raise ValueError('test_dataloader.dataset gives no pipeline to read images with '
                             '(a set with a pipeline, or a wrapper of such sets)')
        return dataset

    # ------------------------------------------------------------ running
    def __call__(self, inputs, batch_size: Optional[int] = None,
                 return_datasamples: bool = False,
                 on_records: Optional[Callable[[List[dict]], None]] = None,
                 skip: Optional[Collection[str]] = None, track_root: Optional[str] = None,
                 **kwargs) -> dict:
        """Recognise ``inputs``.

        Args:
            inputs: an image path (``str`` or ``os.PathLike``), a folder, a
                label file, a numpy array ``(H, W[, C])`` (BGR), the bytes of
                an encoded image (a request's body; ``bytes``, ``bytearray``
                or ``memoryview``), or a list of these. Anything else is a
                ``TypeError`` (a torch tensor too: give its numpy array).
            batch_size (int, optional): overrides the constructor's (>= 1).
            return_datasamples (bool): add the :class:`PlateDataSample` of
                each image under ``'datasamples'`` (None for failed ones).
            on_records (callable, optional): called with each batch's records
                once they are read, before the next batch (``tools/infer.py``
                appends them to a file, so a killed run keeps them); the
                returned records may hold more fields (a track's votes).
            skip (collection of str, optional): inputs not to read, by their
                records' ``input`` (an earlier run's, ``tools/infer.py
                --resume``); the others keep the track ids and frame numbers
                they have among all the inputs.
            track_root (str, optional): track ids are folders' paths below
                this folder (``cam00/trk0000``), whatever else the call
                reads, so calls over parts of one tree give one call's ids;
                every path input must lie below it (see
                :func:`~dld.apis.input_items.expand_inputs`).
            scale (float, optional): read every image at this scale instead
                of the selector's choice (the selector then does not run).
            beam_width (int, optional), topk (int, optional): ``beam_width``
                1 is greedy decoding, more a beam search; ``topk > 1`` adds
                the k best texts to each record (see :func:`decoding`).
            vis_dir (str, optional): write each image with its prediction,
                numbered on from this instance's previous calls, so a later
                call does not overwrite an earlier one's drawings.
            track (bool): also vote one text per track. The arrays and
                bytes of the call are then one track, ``'in-memory'``,
                frames in the order given (without voting they have none).
            layouts (sequence of str, optional): only readings that fit one
                of these plate layouts vote, where any does
                (:func:`~dld.evaluation.metrics.vote_track`); default: the
                config's ``TrackAccuracyMetric(layouts=...)``; ``()`` votes
                with every reading.
            vote (str, optional): ``'text'`` or ``'chars'`` (see
                :func:`~dld.evaluation.metrics.vote_track`); default: the
                config's ``TrackAccuracyMetric(vote=...)``, else ``'text'``.

        Returns:
            dict: ``predictions`` (one record per image, in input order; see
            :meth:`make_record`), ``visualization`` (written paths), and with
            ``track=True`` ``tracks``; ``num_failed``.
        """
        self._forked_guard()  # before any torch op of this call
        pre_kw, fwd_kw, vis_kw, post_kw = self._dispatch_kwargs(**kwargs)
        # Every argument is checked before the first image is read.
        if isinstance(fwd_kw.get('scale'), numbers.Real) and not isinstance(
                fwd_kw['scale'], bool):  # np.float32(0.8) is recorded as 0.8
            fwd_kw['scale'] = round(float(fwd_kw['scale']), 6)
        _check_scale(fwd_kw.get('scale'))  # the rounded: 1e-7 is 0
        self._warn_if_untrained_scale(fwd_kw.get('scale'))
        check_decoding(fwd_kw.get('beam_width'), fwd_kw.get('topk'))
        batch_size = self.batch_size if batch_size is None else _checked_batch_size(batch_size)
        self._track_voting(post_kw.get('layouts'), post_kw.get('vote'))  # checked only
        if post_kw.get('track') is None:  # unset, as a request's missing field reads
            post_kw.pop('track', None)
        elif not isinstance(post_kw['track'], (bool, np.bool_)):
            # 'yes' read as True, and 'no' or 'false' too
            raise ValueError(f"track must be True or False, got {post_kw['track']!r}")
        _check_vis_dir(vis_kw.get('vis_dir'))
        with self._call_lock:
            return self._read(inputs, batch_size, return_datasamples, pre_kw, fwd_kw, vis_kw,
                              post_kw, on_records, skip, track_root)

    def _track_voting(self, layouts, vote) -> dict:
        """The call's ``layouts`` and ``vote``, the config's where not given, checked."""
        layouts = self.track_voting['layouts'] if layouts is None else as_layouts(layouts)
        vote = self.track_voting['vote'] if vote is None else vote
        check_track_voting(layouts, vote)
        return dict(layouts=layouts, vote=vote)

    def _read(self, inputs, batch_size: int, return_datasamples: bool, pre_kw: dict,
              fwd_kw: dict, vis_kw: dict, post_kw: dict,
              on_records: Optional[Callable[[List[dict]], None]] = None,
              skip: Optional[Collection[str]] = None,
              track_root: Optional[str] = None) -> dict:
        items = expand_inputs(inputs, self.label_dataset_cfg, stream=self.input_stream,
                              memory_track=bool(post_kw.get('track')), track_root=track_root)
        # a drawing is numbered by its input's place among all the inputs (and
        # the calls before): a run that skips those read draws the rest as
        # one unbroken run would (infer.py --resume --vis)
        first, self._num_drawn = self._num_drawn, self._num_drawn + len(items)
        read = _was_read(skip)
        places = [first + n for n, item in enumerate(items) if not read(item)]
        if skip:  # after the ids are given: those read keep theirs
            items = [item for item in items if not read(item)]
        records: List[dict] = []
        samples: List[Optional[PlateDataSample]] = []
        vis_paths: List[str] = []
        progress = _progress(len(items), self.show_progress)
        try:
            for chunk in _chunks(items, batch_size):
                prepared = self.preprocess(chunk, **pre_kw)
                preds = self.forward(prepared, **fwd_kw)
                drawn = self.visualize(prepared, preds, **vis_kw,
                                       start=places[len(records):len(records) + len(chunk)])
                # a chunk counts once read and drawn: an interrupted one is not kept
                records += [pred['record'] for pred in preds]
                if return_datasamples:  # some 3 KB an image kept for nothing otherwise
                    samples += [pred.get('sample') for pred in preds]
                vis_paths += drawn
                if on_records is not None:
                    on_records(records[-len(preds):])
                if progress is not None:
                    progress.update(len(chunk))
            return self._finish(records, samples, vis_paths, return_datasamples, vis_kw,
                                post_kw, progress)
        except KeyboardInterrupt as stop:  # in the batches or while the tracks are voted
            partial = self._finish(records, samples, vis_paths, return_datasamples, vis_kw,
                                   post_kw, progress)
            unread = unread_frames(items[len(records):])
            mark_cut_tracks(partial.get('tracks', []), unread)
            raise ReadingInterrupted(partial, len(items), str(stop), unread) from stop

    def _finish(self, records: List[dict], samples: list, vis_paths: List[str],
                return_datasamples: bool, vis_kw: dict, post_kw: dict, progress) -> dict:
        if progress is not None:
            progress.close()
        result = self.postprocess(records, vis_paths, **post_kw)
        if return_datasamples:
            result['datasamples'] = samples
        return result

    def preprocess(self, chunk: Sequence[InputItem], **kwargs) -> List[dict]:
        """Read and transform each item; failures are kept as error entries."""
        out = []
        for item in chunk:
            entry = dict(item=item, image=None, packed=None, error=None)
            try:
                if item.error is not None:
                    raise ImageInputError(item.source, item.error)
                if item.array is not None:
                    img = normalize_image(item.array, item.source, self.color_type,
                                          self.max_pixels)
                elif item.encoded is not None:
                    img = decode_image_bytes(item.encoded, item.source, self.color_type,
                                             self.max_pixels)
                else:
                    img = read_image_file(item.path, self.color_type, self.max_pixels)
                entry['image'] = img
                entry['packed'] = self.pipeline(_results_dict(item, img, self.image_stream))
            except ImageInputError as err:
                entry['error'] = (type(err).__name__, err.reason)
            except Exception as err:  # noqa: BLE001 - one bad image must not stop the batch
                entry['error'] = (type(err).__name__, f'preprocessing failed: {err}')
            out.append(entry)
        return out

    @torch.no_grad()
    def forward(self, prepared: List[dict], scale: Optional[float] = None,
                beam_width: Optional[int] = None, topk: Optional[int] = None) -> List[dict]:
        """One batched forward for the good entries; per-image retry if it fails."""
        weights = next(self.model.parameters()).dtype
        if weights != torch.float32:  # else each image an error record, saying why only there
            raise TypeError(f'the model was turned to {weights}; PlateRecognizer reads in '
                            'float32: leave the model as loaded, and give amp=True to read '
                            'in mixed precision')
        good = [i for i, e in enumerate(prepared) if e['error'] is None]
        results: Dict[int, dict] = {}
        if good:
            with decoding(self.recognizer, beam_width, topk):
                try:
                    samples = self._predict([prepared[i]['packed'] for i in good], scale)
                    results.update(zip(good, samples))
                except Exception as err:  # noqa: BLE001 - isolate the image that failed
                    print_log(f'Batch forward failed ({err}); retrying image by image.',
                              logger='current', level=logging.WARNING)
                    for i in good:
                        try:
                            results[i] = self._predict([prepared[i]['packed']], scale)[0]
                        except Exception as err1:  # noqa: BLE001
                            prepared[i]['error'] = (type(err1).__name__,
                                                    f'model forward failed: {err1}')
        preds = []
        for i, entry in enumerate(prepared):
            if entry['error'] is not None:
                preds.append(dict(record=self.error_record(
                    entry['item'], *entry['error'], case_sensitive=self.case_sensitive)))
            else:
                sample = results[i]
                preds.append(dict(record=self.make_record(entry['item'], entry['image'], sample),
                                  sample=sample))
        return preds

    def _forked_guard(self) -> None:
        """In a process forked after this reader was built (a gunicorn
        ``--preload`` worker), read with one thread: torch's OpenMP pool,
        started by the parent, hung every worker's first reading for ever
        (PyTorch's own issue); said once."""
        if os.getpid() == self._pid:
            return
        self._pid = os.getpid()
        if self.device_type == 'cpu' and torch.get_num_threads() > 1:
            torch.set_num_threads(1)
            print_log('PlateRecognizer: used in a process forked after it was built: reading '
                      "with 1 thread (torch's thread pool does not survive a fork); build it "
                      'in each worker to use more', logger='current', level=logging.WARNING)

    def _predict(self, packed: List[dict], scale: Optional[float]) -> List[PlateDataSample]:
        data = self.model.data_preprocessor(pseudo_collate(packed), False)
        inputs, samples = data['inputs'], data['data_samples']
        with autocast_to(self.device_type, self.amp_dtype):
            if is_distiller(self.model):
                return self.model.predict(inputs, samples, force_scale=scale)
            s = 1.0 if scale is None else float(scale)
            samples = predict_at_scale(self.model, inputs, samples, s, self.base_size)
        gflops = self.costs.gflops_at(s, with_selector=False)
        for ds in samples:
            ds.set_field(s, 'pred_scale', field_type='data')
            ds.set_field(gflops, 'pred_gflops', field_type='data')
        return samples

    def visualize(self, prepared: List[dict], preds: List[dict],
                  start: Union[int, Sequence[int]] = 0,
                  vis_dir: Optional[str] = None) -> List[str]:
        """Draw each read image under ``vis_dir``, numbered from ``start``
        (or by ``start``'s numbers, one an image)."""
        if not vis_dir:
            return []
        indices = range(start, start + len(prepared)) if isinstance(start, int) else start
        paths, failed = [], []
        for index, entry, pred in zip(indices, prepared, preds):
            if entry['image'] is None or pred['record'].get('error'):
                continue
            try:
                path = save_visualization(entry['image'], pred['record'], vis_dir,
                                          index, self.case_sensitive)
            except OSError as err:  # a full disk loses the drawing, not the readings
                failed.append(f'{pred["record"]["input"]}: {err}')
                continue
            pred['record']['vis_path'] = path  # which drawing is this image's
            paths.append(path)
        if failed:  # one line a batch, not one an image
            print_log(f'{len(failed)} drawing(s) not written, their readings kept: '
                      f'{first_and_more(failed, 1)}', logger='current', level=logging.WARNING)
        return paths

    def postprocess(self, records: List[dict], vis_paths: List[str], track: bool = False,
                    layouts: Optional[Sequence[str]] = None,
                    vote: Optional[str] = None) -> dict:
        result = dict(predictions=records, visualization=vis_paths,
                      num_failed=sum(1 for r in records if r['error'] is not None))
        if track:
            voting = self._track_voting(layouts, vote)
            result['tracks'] = vote_tracks(records, voting['layouts'] or None, voting['vote'],
                                           self.case_sensitive)
        return result

    # ------------------------------------------------------------ records
    def make_record(self, item: InputItem, img: np.ndarray, sample: PlateDataSample) -> dict:
        """One image's result.

        Keys: ``input`` (path or ``array[i]``), ``path``, ``text``,
        ``confidence`` (the string's probability), ``scale`` (chosen or
        forced; the last reread's under ``test_cfg.reread``), ``scales_read``
        (every scale read, in order), ``input_size`` ``[H, W]`` the student
        read last, ``image_size`` ``[H, W]`` of the file, ``gflops`` (every
        read, plus the selector when it ran), ``gflops_teacher`` (the teacher at full
        resolution), ``gflops_saved`` (their difference), ``track_id``,
        ``frame_idx``, ``scale_probs`` (the selector's probability of each
        candidate scale, ``{'<scale>': p}``, with the config's
        ``selector_bias``; None with a forced scale or no selector),
        ``truncated`` (whether the reading was cut at the decoder's
        ``max_seq_len``, where it would have read on: a longer text than the
        model emits; None where the decoder does not say), ``gt_text`` (label
        files) and ``read_right`` (whether
        ``text`` is it, as the config's plate metric counts) with
        ``case_sensitive`` (whether that compared case), ``topk`` (``[[text,
        log_prob], ...]`` when asked), ``vis_path`` (its drawing, with
        ``vis_dir``), ``annotation`` (``'file:line'`` of the label file
        line that listed it, for label files) and ``error`` (None).
        """
        from dld.utils.flops import scale_input_shapes
        scale = float(sample.get('pred_scale', 1.0))
        (h, w), = scale_input_shapes(self.base_size, [scale])
        gflops = float(sample.get('pred_gflops'))
        teacher = self.costs.teacher_flops / 1e9
        rec = dict(input=item.source, path=item.path, text=sample.pred_text,
                   confidence=float(sample.get('pred_score', 0.0)), scale=scale,
                   scales_read=[float(x) for x in sample.get('pred_scales', [scale])],
                   input_size=[h, w], image_size=[int(img.shape[0]), int(img.shape[1])],
                   gflops=gflops, gflops_teacher=teacher, gflops_saved=teacher - gflops,
                   track_id=item.track_id, frame_idx=item.frame_idx,
                   truncated=(bool(sample.pred_truncated) if 'pred_truncated' in sample
                              else None))
        if item.gt_text is not None:
            rec['gt_text'] = item.gt_text
            rec['read_right'] = plate_read_right(sample.pred_text, item.gt_text,
                                                 self.case_sensitive)
            # how it was judged, for tools/analysis/analyze_readings.py
            rec['case_sensitive'] = bool(self.case_sensitive)
        if item.annotation:  # the label file's line: where to fix a wrong label
            rec['annotation'] = item.annotation
        if 'pred_topk' in sample:
            rec['topk'] = [[t, float(s)] for t, s in sample.pred_topk]
        # why the selector chose its scale (None: forced, or no selector)
        rec['scale_probs'] = dict(sample.pred_scale_probs) if 'pred_scale_probs' in sample \
            else None
        rec.update(error=None, error_type=None)
        return rec

    @staticmethod
    def error_record(item: InputItem, error_type: str, message: str,
                     case_sensitive: bool = False) -> dict:
        """An image that could not be read: the keys of :meth:`make_record`
        (``topk`` and ``vis_path`` aside), None where there is no value, so
        that a reader of the records needs no special case (a label's
        ``case_sensitive`` too: the recognizer's)."""
        rec = dict(input=item.source, path=item.path, text=None, confidence=None, scale=None,
                   scales_read=None, input_size=None, image_size=None, gflops=None,
                   gflops_teacher=None, gflops_saved=None, track_id=item.track_id,
                   frame_idx=item.frame_idx, scale_probs=None, truncated=None)
        if item.gt_text is not None:
            rec.update(gt_text=item.gt_text, read_right=False,
                       case_sensitive=bool(case_sensitive))
        if item.annotation:
            rec['annotation'] = item.annotation
            if item.annotation != item.source:  # a refused line's record is named by it
                message = f'{message} (listed at {item.annotation})'
        rec.update(error=message, error_type=error_type)
        return rec


def _was_read(skip: Optional[Collection[str]]) -> Callable[[InputItem], bool]:
    """Whether an item is one of ``skip`` (inputs read before): by its name,
    or, a file, by its absolute path, as records written before a folder's
    images were named as it was given name them (``infer.py --resume``)."""
    skip = set(skip or ())
    files = {osp.abspath(s) for s in skip}
    return lambda item: item.source in skip or (
        item.path is not None and osp.abspath(item.path) in files)


def _check_pipeline_size(model, transforms, stream: str) -> None:
    """Refuse, before any image, a test pipeline that resizes to another size
    than a distiller's ``base_size``: every image was an error record of
    the same sentence, read one by one."""
    from dld.models.distillers.distiller_checks import InputSizeError

    from .scaled_prediction import pipeline_input_size
    base = getattr(model, 'base_size', None)
    size = pipeline_input_size(transforms, stream)
    if base is None or size is None or tuple(size) == tuple(base):
        return
    raise InputSizeError(
        f"the test pipeline's ResizePair gives the model inputs of {size[0]}x{size[1]}, but "
        f'the model reads at model.base_size={tuple(base)}: set the test pipeline\'s '
        f'ResizePair to {stream}_size={tuple(base)} (its training pipeline\'s)')


def tracks_path(records_path: str) -> str:
    """Where the track votes of ``x.jsonl`` records go: ``x.tracks.jsonl``
    (``tools/infer.py --track --out``)."""
    stem, _ = osp.splitext(records_path)
    return f'{stem}.tracks.jsonl'


def vote_tracks(records: Iterable[dict], layouts: Optional[Sequence[str]] = None,
                vote: str = 'text', case_sensitive: bool = False) -> List[dict]:
    """One voted text per track (majority, ties by summed confidence; with
    ``layouts``, among the readings that fit one; ``vote='chars'``,
    character by character; see :func:`~dld.evaluation.metrics.vote_track`).

    Readings are upper-cased first unless ``case_sensitive``, as
    ``TrackAccuracyMetric`` compares them: ``abc1234`` and ``ABC1234`` are
    one vote, and fit a layout alike; the answer keeps the case the model
    read it in (the most common spelling among its votes, ties to the
    larger summed confidence), since a case-sensitive model's output is
    its own. Failed images and images without a
    track are left out; a track whose every frame failed has ``text`` None.
    ``votes`` counts the frames that read the answer, ``confidence`` is
    :func:`~dld.evaluation.metrics.track_confidence`.
    """
    from dld.evaluation.metrics import track_confidence, vote_track
    norm = str if case_sensitive else upper_each  # as the metrics fold case: 'ß' kept
    tracks: Dict[str, List[dict]] = {}
    untracked = 0
    for rec in records:
        if rec.get('track_id') is not None:
            tracks.setdefault(rec['track_id'], []).append(rec)
        else:
            untracked += 1
    if untracked and not tracks:  # a service's records, one image a call: [] said nothing
        print_log(f'vote_tracks: none of the {untracked} record(s) has a track_id (images '
                  'read in memory, one a call, have none): set each record\'s track_id to '
                  'the track it belongs to', logger='current', level=logging.WARNING)
    out = []
    for track_id, recs in tracks.items():
        # records of one's own may leave out what the recognizer's hold:
        # no error, frames in the order given, no cost
        ok = [r for r in recs if r.get('error') is None]
        entry = dict(track_id=track_id, num_frames=len(recs), num_read=len(ok), text=None,
                     votes=0, confidence=None, mean_gflops=None)
        if ok:
            readings = [(r.get('frame_idx', i), norm(r['text']), r['confidence'])
                        for i, r in enumerate(ok)]
            text = vote_track(readings, layouts, vote)
            costs = [r.get('gflops') for r in ok]
            entry.update(text=_as_read(text, ok, norm),
                         votes=sum(t == text for _, t, _ in readings),
                         confidence=float(track_confidence(readings, text)),
                         mean_gflops=(float(sum(costs) / len(costs))
                                      if None not in costs else None))
        gts = {r['gt_text'] for r in recs if r.get('gt_text')}
        if len(gts) == 1:
            entry['gt_text'] = gts.pop()
            entry['read_right'] = (entry['text'] is not None and plate_read_right(
                entry['text'], entry['gt_text'], case_sensitive))
        out.append(entry)
    return out


def unread_frames(unread: Sequence[InputItem]) -> Dict[str, int]:
    """``{track id: frames}`` of the items a stop left unread."""
    left: Dict[str, int] = {}
    for item in unread:
        if item.track_id is not None:
            left[item.track_id] = left.get(item.track_id, 0) + 1
    return left


def mark_cut_tracks(tracks: List[dict], unread: Dict[str, int]) -> None:
    """A track a stop cut short is voted over the frames read: its vote gets
    ``num_unread``, the frames of it not read (:func:`unread_frames`), so
    that nobody takes it for a whole track's."""
    for track in tracks:
        if track['track_id'] in unread:
            track['num_unread'] = unread[track['track_id']]


def _as_read(text: str, records: List[dict], norm) -> str:
    """``text`` (a vote over case-folded readings) as the frames spelt it:
    their most common spelling of it, ties to the larger summed confidence.
    Where no frame read it whole (a character vote), each character is
    spelt so, among the frames of its length that read it there."""
    whole = _most_spelt((rec['text'], rec['confidence']) for rec in records
                        if norm(rec['text']) == text)
    if whole is not None:
        return whole
    same_length = [rec for rec in records if len(rec['text']) == len(text)]
    return ''.join(
        _most_spelt((rec['text'][i], rec['confidence']) for rec in same_length
                    if norm(rec['text'][i]) == char) or char
        for i, char in enumerate(text))


def _most_spelt(spellings: Iterable[Tuple[str, Optional[float]]]) -> Optional[str]:
    """The most common spelling of ``(spelling, confidence)`` pairs, ties to
    the larger summed confidence; None for none."""
    tally: Dict[str, Tuple[int, float]] = {}
    for spelling, confidence in spellings:
        count, total = tally.get(spelling, (0, 0.0))
        tally[spelling] = (count + 1, total + float(confidence or 0.0))
    return max(sorted(tally), key=tally.get) if tally else None


def _costs_of(model: torch.nn.Module, base_size: Tuple[int, int]):
    return model.costs if is_distiller(model) else RecognizerCosts(model, base_size)


def _results_dict(item: InputItem, img: np.ndarray, stream: str = 'lr') -> dict:
    """What :class:`LoadPlateImages` would have produced for this item, with
    the image as its LR frame (``stream='lr'``) or its HR frame (``'hr'``)."""
    path = item.path or item.source
    common = dict(gt_text=item.gt_text or '', track_id=item.track_id, frame_idx=item.frame_idx)
    if stream == 'hr':
        return dict(common, img_hr=img, hr_img_shape=img.shape[:2], hr_ori_shape=img.shape[:2],
                    lr_path=None, hr_path=path)
    return dict(common, img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                lr_path=path, hr_path=None)


def _checked_batch_size(batch_size) -> int:
    if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
            or batch_size < 1):
        raise ValueError(f'batch_size must be an integer >= 1, got {batch_size!r}')
    return int(batch_size)


def _checked_max_pixels(max_pixels) -> Optional[int]:
    """Checked now: a bad limit would fail every image of every call.
    A number >= 1 (``1e9`` too), or None or infinity for no limit."""
    if max_pixels is None or max_pixels == float('inf'):
        return None
    if (isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Real)
            or not max_pixels >= 1):  # nan too
        raise ValueError(f'max_pixels must be a number >= 1 or None, got {max_pixels!r}')
    return int(max_pixels)


def _checked_weights(weights, random_weights: bool) -> Optional[str]:
    if random_weights:
        if weights is not None:
            raise ValueError('random_weights=True reads with untrained weights: give no '
                             f'weights, not {weights!r}')
        return None
    if weights is None or (isinstance(weights, str) and not weights.strip()):
        raise ValueError(
            f'PlateRecognizer needs the checkpoint to read with, got weights={weights!r}; '
            'random_weights=True reads with untrained weights (timing, tests)')
    return os.fspath(weights)


def _check_vis_dir(vis_dir: Optional[str]) -> None:
    """A ``vis_dir`` that cannot be a folder fails before any image is read."""
    if vis_dir:
        try:
            os.makedirs(vis_dir, exist_ok=True)
        except OSError as err:
            raise ValueError(f'vis_dir {vis_dir!r} cannot be a folder: {err.strerror}') from None


def _check_scale(scale: Optional[float]) -> None:
    if scale is None:
        return
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise ValueError(f'scale must be a number in (0, {MAX_SCALE:g}], got {scale!r}')
    if not 0.0 < float(scale) <= MAX_SCALE:
        raise ValueError(f'scale must be in (0, {MAX_SCALE:g}], got {scale}')


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit='img', desc='Reading images', dynamic_ncols=True)


__all__ = ['PlateRecognizer', 'tracks_path', 'vote_tracks']
