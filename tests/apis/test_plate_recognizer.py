"""PlateRecognizer on generated plates with a briefly trained tiny DLD checkpoint."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from bad_inputs import EXPECTED_OK, make_bad_inputs
from mmengine.config import Config
from mmengine.runner import Runner
from tiny_dld import SCALES

from dld.apis import CheckpointMismatchError, PlateRecognizer
from dld.apis.model_loading import init_model
from dld.models.selectors import resize_to_scale
from dld.utils.flops import scale_input_shapes


@pytest.fixture(scope='module')
def recognizer(tiny_run):
    return PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu', batch_size=5)


def _fixed_scale_evaluation(tiny_run, scale):
    """The student at ``scale`` over the config's test loader, as evaluation runs it."""
    model, cfg = init_model(tiny_run['config'], tiny_run['student'])
    out = {}
    for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
        data = model.data_preprocessor(batch, False)
        x = resize_to_scale(data['inputs'], scale, base_hw=model.base_size)
        for ds in model.student.predict(x, data['data_samples']):
            out[ds.lr_path] = (ds.pred_text, ds.pred_score)
    return out


def test_reads_a_folder_of_generated_plates(recognizer, tiny_run):
    folder = osp.join(tiny_run['data'], 'test')
    out = recognizer(folder)
    preds = out['predictions']
    # The generator writes the ICPR track layout: the LR student reads the
    # lr-* frames of each track, labelled by its annotations.json.
    n_lr = sum(f.startswith('lr-') for _, _, files in os.walk(folder) for f in files)
    n_hr = sum(f.startswith('hr-') for _, _, files in os.walk(folder) for f in files)
    assert len(preds) == n_lr and n_hr > 0 and out['num_failed'] == 0
    assert all(osp.basename(r['path']).startswith('lr-') and r['gt_text'] for r in preds)
    costs = recognizer.model.costs
    for rec in preds:
        assert rec['error'] is None and isinstance(rec['text'], str)
        assert 0.0 <= rec['confidence'] <= 1.0
        assert rec['scale'] in SCALES
        assert rec['input_size'] == list(scale_input_shapes((48, 144), [rec['scale']])[0])
        assert rec['gflops'] == pytest.approx(costs.gflops_at(rec['scale'], with_selector=True))
        assert rec['gflops_saved'] == pytest.approx(costs.teacher_flops / 1e9 - rec['gflops'])
        json.dumps(rec)  # every record is JSON-serialisable


@pytest.mark.parametrize('scale', SCALES)
def test_forced_scale_equals_fixed_scale_evaluation(recognizer, tiny_run, scale):
    expected = _fixed_scale_evaluation(tiny_run, scale)
    out = recognizer(osp.join(tiny_run['data'], 'test.txt'), scale=scale)
    got = {r['path']: (r['text'], r['confidence']) for r in out['predictions']}
    assert got.keys() == expected.keys()
    for path, (text, score) in expected.items():
        assert got[path][0] == text
        assert got[path][1] == pytest.approx(score, rel=1e-5, abs=1e-7)
    assert all(r['scale'] == scale for r in out['predictions'])


def test_selector_choice_matches_the_distillers_predict(recognizer, tiny_run):
    model, cfg = init_model(tiny_run['config'], tiny_run['student'])
    expected = {}
    for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
        for ds in model.test_step(batch):
            expected[ds.lr_path] = (ds.pred_text, ds.pred_scale)
    out = recognizer(osp.join(tiny_run['data'], 'test.txt'))
    got = {r['path']: (r['text'], r['scale']) for r in out['predictions']}
    assert got == expected


def test_batch_size_does_not_change_predictions(recognizer, tiny_run):
    label_file = osp.join(tiny_run['data'], 'test.txt')
    a = recognizer(label_file, batch_size=1)['predictions']
    b = recognizer(label_file, batch_size=64)['predictions']
    assert [(r['text'], r['scale']) for r in a] == [(r['text'], r['scale']) for r in b]
    # the tiny model reads blanks alike: its confidences tell the images apart
    assert len({round(r['confidence'], 6) for r in a}) > len(a) // 2
    assert [r['confidence'] for r in a] == pytest.approx([r['confidence'] for r in b],
                                                         rel=1e-5, abs=1e-7)


def test_label_file_gives_labels_and_track_votes(recognizer, tiny_run):
    out = recognizer(osp.join(tiny_run['data'], 'test.txt'), track=True)
    assert all(r['gt_text'] for r in out['predictions'])
    tracks = out['tracks']
    assert len(tracks) == len({r['track_id'] for r in out['predictions']})
    for t in tracks:
        frames = [r for r in out['predictions'] if r['track_id'] == t['track_id']]
        assert t['num_frames'] == len(frames) and t['text'] in {r['text'] for r in frames}
        assert t['gt_text'] == frames[0]['gt_text']
        assert t['read_right'] == (t['text'].upper() == t['gt_text'].upper())
    # each image's as the config's plate metric counts (without case here)
    assert not recognizer.case_sensitive
    assert [r['read_right'] for r in out['predictions']] == [
        r['text'].upper() == r['gt_text'].upper() for r in out['predictions']]
    # and says so, for analyze_readings (which guessed it from the misreads)
    assert {r['case_sensitive'] for r in out['predictions']} == {False}


def test_a_case_sensitive_configs_records_say_they_were_judged_so(tiny_run):
    cfg = Config.fromfile(tiny_run['config'])
    cfg.test_evaluator = [dict(type='PlateRecogMetric', case_sensitive=True)]
    out = PlateRecognizer(cfg, tiny_run['student'], device='cpu')(
        osp.join(tiny_run['data'], 'test.txt'))
    assert {r['case_sensitive'] for r in out['predictions']} == {True}
    assert [r['read_right'] for r in out['predictions']] == [
        r['text'] == r['gt_text'] for r in out['predictions']]


def test_a_missing_frame_of_a_label_file_is_one_error_record(recognizer, tiny_run, tmp_path):
    """Inference lists a label file's frames without checking them first, so
    one missing file costs its own record, not the whole file."""
    import shutil
    shutil.copytree(osp.join(tiny_run['data'], 'test'), tmp_path / 'test')
    shutil.copy(osp.join(tiny_run['data'], 'test.txt'), tmp_path / 'test.txt')
    every = recognizer(str(tmp_path / 'test.txt'))['predictions']
    gone = every[1]['path']
    os.remove(gone)
    out = recognizer(str(tmp_path / 'test.txt'))
    assert [r['path'] for r in out['predictions']] == [r['path'] for r in every]
    assert out['num_failed'] == 1
    failed = [r for r in out['predictions'] if r['error']]
    assert [r['path'] for r in failed] == [gone]
    # the error names the line that listed it, not only the file
    line = next(i for i, text in enumerate((tmp_path / 'test.txt').read_text().splitlines(), 1)
                if osp.relpath(gone, tmp_path) in text)
    assert failed[0]['error'].endswith(f"(listed at {tmp_path / 'test.txt'}:{line})")
    read = {r['path']: r['text'] for r in every if r['path'] != gone}
    assert {r['path']: r['text'] for r in out['predictions'] if not r['error']} == read


def test_arrays_are_read_like_files(recognizer, tiny_run):
    import cv2
    path = osp.join(tiny_run['data'], 'test', 'track_00000', 'lr-001.png')
    from_file = recognizer(path)['predictions'][0]
    from_array = recognizer(cv2.imread(path))['predictions'][0]
    assert from_array['input'] == 'array[0]' and from_array['track_id'] is None
    for key in ('text', 'confidence', 'scale'):
        assert from_array[key] == from_file[key]


def test_bad_inputs_get_error_records_and_the_batch_goes_on(recognizer, tiny_run, tmp_path):
    bad = make_bad_inputs(str(tmp_path / 'bad'))
    good = osp.join(tiny_run['data'], 'test', 'track_00000', 'lr-001.png')
    names = sorted(bad)
    out = recognizer([bad[n] for n in names] + [good, np.zeros((5, 5, 2), np.uint8)])
    recs = out['predictions']
    assert len(recs) == len(names) + 2
    for name, rec in zip(names, recs):
        assert (rec['error'] is None) == EXPECTED_OK[name], (name, rec)
        if rec['error'] is None:
            assert rec['text'] is not None and rec['scale'] in SCALES
        else:
            assert rec['input'] == bad[name] and rec['error_type']
    assert recs[-2]['error'] is None
    assert recs[-1]['error'] and recs[-1]['input'] == 'array[11]'
    assert out['num_failed'] == sum(not ok for ok in EXPECTED_OK.values()) + 1


def test_topk_and_beam_width_return_k_hypotheses_best_first(recognizer, tiny_run):
    path = osp.join(tiny_run['data'], 'test.txt')
    recs = recognizer(path, topk=3, beam_width=4)['predictions']
    for rec in recs:
        assert 1 <= len(rec['topk']) <= 3
        logps = [lp for _, lp in rec['topk']]
        assert logps == sorted(logps, reverse=True)
        assert rec['topk'][0][0] == rec['text']
    # the config's greedy decoding is restored afterwards
    assert 'topk' not in recognizer(path)['predictions'][0]
    assert recognizer.recognizer.test_cfg['decode'] == 'greedy'


def test_vis_dir_gets_one_drawing_per_read_image(recognizer, tiny_run, tmp_path):
    import cv2
    folder = osp.join(tiny_run['data'], 'test', 'track_00001')
    out = recognizer([folder, str(tmp_path / 'missing.png')], vis_dir=str(tmp_path / 'vis'))
    ok = [r for r in out['predictions'] if r['error'] is None]
    assert len(out['visualization']) == len(ok) > 0
    assert [r['vis_path'] for r in ok] == out['visualization']  # each record names its own
    assert 'vis_path' not in [r for r in out['predictions'] if r['error']][0]
    for path in out['visualization']:
        img = cv2.imread(path)
        assert img is not None and img.shape[0] > 96
        assert '_track_00001_' in osp.basename(path)


def test_full_dld_checkpoint_reads_as_its_extracted_student(tiny_run):
    label_file = osp.join(tiny_run['data'], 'test.txt')
    full = PlateRecognizer(tiny_run['config'], tiny_run['full'], device='cpu')(label_file)
    student = PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu')(label_file)
    assert full['num_failed'] == 0
    readings = [[(r['text'], r['scale'], r['confidence']) for r in out['predictions']]
                for out in (full, student)]
    assert readings[0] == readings[1]
    assert len({c for _, _, c in readings[0]}) > len(readings[0]) // 2  # not all alike


def test_checkpoint_without_student_weights_is_refused(tiny_run, tmp_path):
    ckpt = torch.load(tiny_run['student'], weights_only=True)
    state = {k: v for k, v in ckpt['state_dict'].items() if not k.startswith('student.backbone')}
    path = str(tmp_path / 'broken.pth')
    torch.save(dict(state_dict=state), path)
    with pytest.raises(CheckpointMismatchError, match='student'):
        PlateRecognizer(tiny_run['config'], path, device='cpu')


def test_plain_recognizer_config_reads_at_scale_one(tiny_run):
    rec = PlateRecognizer(tiny_run['baseline_config'], tiny_run['baseline'], device='cpu')
    recs = rec(osp.join(tiny_run['data'], 'test.txt'))['predictions']
    assert all(r['scale'] == 1.0 and r['input_size'] == [48, 144] for r in recs)
    assert recs[0]['gflops_saved'] == pytest.approx(0.0)


def test_config_object_works_like_a_path(tiny_run):
    cfg = Config.fromfile(tiny_run['config'])
    rec = PlateRecognizer(cfg, tiny_run['student'], device='cpu')
    assert rec(osp.join(tiny_run['data'], 'test.txt'))['num_failed'] == 0


def test_building_a_recognizer_leaves_the_seeded_random_stream_alone(tiny_run):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu')
    assert torch.equal(torch.rand(3), expected)


def test_efficiency_config_reads_the_given_image_as_evaluation_reads_the_hr_crop(tiny_run):
    """In the efficiency setting the test pipeline makes the student's input
    from the HR frame (CopyHRToLR); given the HR crop, or a label file, the
    inferencer must read the HR crop as evaluation does, not fail on a
    missing HR stream or read the LR frames."""
    cfg = Config.fromfile(tiny_run['config'])
    dataset = cfg.test_dataloader.dataset
    dataset.load_hr = True
    dataset.pipeline = [
        dict(type='LoadPlateImages', with_lr=False, with_hr=True),
        dict(type='CopyHRToLR'),
        dict(type='ResizePair', lr_size=(48, 144), hr_size=(48, 144)),
        dict(type='PackPlateInputs', main_stream='lr'),
    ]
    model, _ = init_model(cfg, tiny_run['student'])
    expected = {}
    for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
        for ds in model.test_step(batch):
            expected[ds.hr_path] = (ds.pred_text, ds.pred_scale)
    recognizer = PlateRecognizer(cfg, tiny_run['student'], device='cpu')
    assert all('/hr-' in path for path in expected)
    for inputs in (sorted(expected), osp.join(tiny_run['data'], 'test.txt')):
        out = recognizer(inputs)
        assert out['num_failed'] == 0
        assert {r['path']: (r['text'], r['scale']) for r in out['predictions']} == expected


def test_amp_reads_in_bfloat16_and_mostly_as_float32_does(recognizer, tiny_run, monkeypatch):
    """``amp=True`` on a CPU with native bfloat16: the convolutions run in
    bfloat16, the records keep their float32 fields, and the readings (texts,
    chosen scales) are nearly all those of float32."""
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    amp = PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu',
                          batch_size=5, amp=True)
    assert amp.amp_dtype == torch.bfloat16
    seen = set()
    hook = amp.model.student.backbone.register_forward_hook(
        lambda module, args, out: seen.add(out.dtype))
    label_file = osp.join(tiny_run['data'], 'test.txt')
    try:
        got = amp(label_file)['predictions']
    finally:
        hook.remove()
    assert seen == {torch.bfloat16}
    ref = recognizer(label_file)['predictions']
    assert [r['path'] for r in got] == [r['path'] for r in ref]
    assert all(isinstance(r['confidence'], float) and 0.0 <= r['confidence'] <= 1.0
               for r in got)
    same = sum((a['text'], a['scale']) == (b['text'], b['scale']) for a, b in zip(got, ref))
    assert same >= 0.9 * len(ref)


def test_a_model_turned_to_half_precision_is_refused_pointing_at_amp(tiny_run):
    """``rec.model.half()``: every image became an error record ("expected
    scalar type Float but found Half"), after a batch-retry warning."""
    rec = PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu')
    rec.model.half()
    with pytest.raises(TypeError, match=r'turned to torch.float16; .*give amp=True'):
        rec(osp.join(tiny_run['data'], 'test.txt'))


def test_amp_where_float32_is_faster_is_a_warning(tiny_run, monkeypatch):
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: False)
    rec = PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu', amp=True)
    assert rec.amp_dtype is None


def _evaluation(cfg, weights, key):
    """``{path: (text, score)}`` of evaluation's test_step over the test loader."""
    model, cfg = init_model(cfg, weights)
    out = {}
    for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
        for ds in model.test_step(batch):
            out[ds.get(key)] = (ds.pred_text, ds.pred_score)
    return out


def _assert_same_readings(got_records, expected):
    got = {r['path']: (r['text'], r['confidence']) for r in got_records}
    assert got.keys() == expected.keys()
    for path, (text, score) in expected.items():
        assert got[path][0] == text
        assert got[path][1] == pytest.approx(score, rel=1e-5, abs=1e-7)


def test_hr_teacher_config_reads_the_image_as_its_hr_frame(tiny_run):
    """An HR teacher's test pipeline loads and packs only HR
    (``PackPlateInputs(main_stream='hr')``): the image given is its HR
    frame, resized to ``hr_size``, and a label file's HR frames are read."""
    from tiny_dld import TRAINED_WIDTH, recognizer_cfg
    cfg = Config.fromfile(tiny_run['baseline_config'])
    cfg.model = recognizer_cfg(TRAINED_WIDTH)
    dataset = cfg.test_dataloader.dataset
    dataset.load_hr = True
    dataset.pipeline = [
        dict(type='LoadPlateImages', with_lr=False, with_hr=True),
        dict(type='ResizePair', lr_size=(48, 144), hr_size=(40, 120)),
        dict(type='PackPlateInputs', main_stream='hr'),
    ]
    expected = _evaluation(cfg, tiny_run['teacher'], 'hr_path')
    assert all('/hr-' in path for path in expected)
    rec = PlateRecognizer(cfg, tiny_run['teacher'], device='cpu')
    assert rec.input_stream == 'hr' and rec.base_size == (40, 120)
    for inputs in (sorted(expected), osp.join(tiny_run['data'], 'test.txt')):
        out = rec(inputs)
        assert out['num_failed'] == 0
        _assert_same_readings(out['predictions'], expected)
        assert all(r['input_size'] == [40, 120] for r in out['predictions'])


def test_shipped_hr_teacher_config_reads_an_image():
    """configs/teacher_plate_hr.py as documented ("a plain recognizer config
    works too"), untrained: every image must be read, not fail to pack."""
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    rec = PlateRecognizer(osp.join(repo, 'configs', 'teacher_plate_hr.py'), None, device='cpu',
                          random_weights=True)
    out = rec([np.full((64, 192, 3), 128, np.uint8)])
    assert out['num_failed'] == 0 and out['predictions'][0]['input_size'] == [48, 144]
    assert rec.input_stream == 'hr'


def test_plain_recognizer_reads_at_its_pipelines_size(tiny_run):
    """Not a hard-coded 48x144: the size the config's ResizePair gives, with
    the FLOPs of that size and the predictions of evaluation."""
    from dld.apis.scaled_prediction import RecognizerCosts
    cfg = Config.fromfile(tiny_run['baseline_config'])
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'ResizePair':
            step.update(lr_size=(32, 96), hr_size=(32, 96))
    expected = _evaluation(cfg, tiny_run['baseline'], 'lr_path')
    rec = PlateRecognizer(cfg, tiny_run['baseline'], device='cpu')
    seen = set()
    rec.recognizer.backbone.register_forward_pre_hook(
        lambda module, args: seen.add(tuple(args[0].shape[-2:])))
    out = rec(osp.join(tiny_run['data'], 'test.txt'))
    assert seen == {(32, 96)}
    _assert_same_readings(out['predictions'], expected)
    gflops = RecognizerCosts(rec.recognizer, (32, 96)).gflops_at(1.0)
    for r in out['predictions']:
        assert r['input_size'] == [32, 96] and r['gflops'] == pytest.approx(gflops)


@pytest.mark.parametrize('trained, warned', [((48, 144), True), ((32, 96), False)])
def test_a_recognizer_read_at_another_size_than_it_trained_at_is_warned_of(
        tiny_run, tmp_path, trained, warned):
    """Its weights fit any size: only the size its checkpoint records says."""
    from log_records import current_log_records
    cfg = Config.fromfile(tiny_run['baseline_config'])
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'ResizePair':
            step.update(lr_size=(32, 96), hr_size=(32, 96))
    ckpt = torch.load(tiny_run['baseline'], weights_only=True)
    ckpt['meta'] = dict(ckpt['meta'], input_size=list(trained))
    path = str(tmp_path / 'baseline.pth')
    torch.save(ckpt, path)
    with current_log_records() as records:
        PlateRecognizer(cfg, path, device='cpu')
    said = [r.getMessage() for r in records if 'was trained on inputs' in r.getMessage()]
    assert said == ([f'{path}: the model was trained on inputs of 48x144, here it reads 32x96: '
                     'a recognizer reads best at the size it was trained at, and its weights '
                     "fit any size without an error. Set the test pipeline's ResizePair "
                     "lr_size to the size it was trained at (its training pipeline's)."]
                    if warned else [])


@pytest.mark.parametrize('batch_size', [0, -1, 2.5, True, '4'])
def test_bad_batch_size_override_is_refused(recognizer, tiny_run, batch_size):
    """batch_size=-1 used to drop every input silently (0 records, 0 failed)."""
    with pytest.raises(ValueError, match='batch_size'):
        recognizer(osp.join(tiny_run['data'], 'test.txt'), batch_size=batch_size)


@pytest.mark.parametrize('batch_size', [0, -1, 2.5])
def test_bad_batch_size_is_refused_when_built(tiny_run, batch_size):
    with pytest.raises(ValueError, match='batch_size'):
        PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu',
                        batch_size=batch_size)


@pytest.mark.parametrize('kwargs,says', [
    (dict(topk=0), 'topk'), (dict(beam_width=0), 'beam_width'), (dict(topk=-1), 'topk'),
    (dict(beam_width=2, topk=3), 'beam_width'), (dict(scale=True), 'scale must be a number'),
    (dict(scale='0.5'), 'scale must be a number'),
    (dict(track=True, vote='bogus'), 'track vote must be one of'),
    (dict(track=True, layouts=['brazillian']), 'brazillian'),
    (dict(vis_dir=__file__), 'cannot be a folder')])
def test_bad_arguments_are_refused_before_any_image_is_read(recognizer, kwargs, says,
                                                            monkeypatch):
    from dld.apis import plate_recognizer
    monkeypatch.setattr(plate_recognizer, 'expand_inputs',
                        lambda *a, **k: pytest.fail('inputs expanded before the check'))
    with pytest.raises(ValueError, match=says):
        recognizer('unused.png', **kwargs)


def test_error_records_have_the_keys_of_read_ones(recognizer, tiny_run, tmp_path):
    good = osp.join(tiny_run['data'], 'test', 'track_00000', 'lr-001.png')
    read, failed = recognizer([good, str(tmp_path / 'missing.png')])['predictions']
    assert read['error'] is None and read['error_type'] is None
    assert failed['error'] and failed['error_type']
    labels = {'gt_text', 'read_right', 'case_sensitive'}
    assert failed.keys() == read.keys() - labels | (labels & failed.keys())
    assert failed['text'] is None and failed['gflops'] is None


def test_paths_may_be_path_objects(recognizer, tiny_run):
    import pathlib
    good = osp.join(tiny_run['data'], 'test', 'track_00000', 'lr-001.png')
    by_path = recognizer(pathlib.Path(good))['predictions']
    assert len(by_path) == 1 and by_path[0]['error'] is None
    assert by_path[0]['text'] == recognizer(good)['predictions'][0]['text']
    assert recognizer([pathlib.Path(good)])['predictions'][0]['path'] == good


def test_a_track_whose_every_frame_failed_has_no_votes():
    from dld.apis import vote_tracks
    (track, ) = vote_tracks([dict(track_id='t', frame_idx=0, error='x', gt_text='AB12')])
    assert track['votes'] == 0 and track['text'] is None and track['confidence'] is None
    assert track['read_right'] is False


def test_a_labelled_image_that_could_not_be_read_is_not_read_right(recognizer, tmp_path):
    (tmp_path / 'labels.txt').write_text('missing.png\tAB12\n')
    (rec, ) = recognizer(str(tmp_path / 'labels.txt'))['predictions']
    assert rec['error'] and rec['gt_text'] == 'AB12' and rec['read_right'] is False
    assert rec['case_sensitive'] is False  # the keys of a labelled image read


def test_a_later_call_does_not_overwrite_the_drawings_of_an_earlier_one(tiny_run, tmp_path):
    reader = PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu')
    image = osp.join(tiny_run['data'], 'test', 'track_00000', 'lr-001.png')
    vis = str(tmp_path / 'vis')
    first = reader(image, vis_dir=vis)['visualization']
    second = reader(image, vis_dir=vis)['visualization']
    assert len(first) == len(second) == 1 and first != second
    assert sorted(os.listdir(vis)) == sorted(osp.basename(p) for p in first + second)


def test_calls_from_two_threads_each_decode_as_they_asked(tiny_run):
    """A call sets the recognizer's decoding for its length: two threads
    sharing one instance must not see each other's."""
    import threading
    reader = PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu')
    path = osp.join(tiny_run['data'], 'test.txt')
    wrong, errors = [], []

    def read(beam):
        try:
            for _ in range(4):
                recs = reader(path, **(dict(beam_width=3, topk=2) if beam else {}))['predictions']
                wrong.extend(r for r in recs if ('topk' in r) != beam or r['error'])
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=read, args=(beam, )) for beam in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and wrong == []
    assert reader.recognizer.test_cfg['decode'] == 'greedy'  # the config's, after both


def test_beam_width_one_reads_greedily(tiny_run):
    """``beam_width=1`` (``--beam-width 1``) is greedy decoding, even where
    the config decodes with a beam."""
    cfg = Config.fromfile(tiny_run['config'])
    cfg.model.student.test_cfg = dict(decode='beam', beam_width=4)
    rec = PlateRecognizer(cfg, tiny_run['student'], device='cpu')
    decoded = []
    rec.recognizer.backbone.register_forward_hook(
        lambda module, args, out: decoded.append(rec.recognizer.test_cfg['decode']))
    label_file = osp.join(tiny_run['data'], 'test.txt')
    assert rec(label_file, beam_width=1)['num_failed'] == 0
    assert decoded and set(decoded) == {'greedy'}
    decoded.clear()
    rec(label_file)
    assert set(decoded) == {'beam'}


def test_an_empty_layouts_argument_overrides_the_config_s_layouts(recognizer, tiny_run,
                                                                  monkeypatch):
    """``layouts=()`` votes with every reading even where the config's track
    metric names layouts (no reading of the tiny model fits 'NNNN')."""
    monkeypatch.setitem(recognizer.track_voting, 'layouts', ('NNNN', ))
    path = osp.join(tiny_run['data'], 'test.txt')
    seen = []
    import dld.apis.plate_recognizer as module
    real = module.vote_tracks
    monkeypatch.setattr(module, 'vote_tracks',
                        lambda records, layouts, *a: seen.append(layouts) or real(
                            records, layouts, *a))
    recognizer(path, track=True)
    recognizer(path, track=True, layouts=())
    recognizer(path, track=True, layouts='mercosur')
    assert seen == [('NNNN', ), None, ('mercosur', )]


@pytest.mark.parametrize('scale', [0, -1, 4.5, float('nan'), float('inf')])
def test_a_scale_outside_0_to_4_is_refused_before_any_image_is_read(recognizer, scale,
                                                                    monkeypatch):
    from dld.apis import plate_recognizer
    monkeypatch.setattr(plate_recognizer, 'expand_inputs',
                        lambda *a, **k: pytest.fail('inputs expanded before the check'))
    with pytest.raises(ValueError, match=r'scale must be in \(0, 4\], got '):
        recognizer('unused.png', scale=scale)


def test_datasamples_line_up_with_the_records(recognizer, tiny_run, tmp_path):
    import glob
    frames = sorted(glob.glob(osp.join(tiny_run['data'], 'test', '*', 'lr-*.png')))[:4]
    inputs = frames[:2] + [str(tmp_path / 'missing.png')] + frames[2:]
    out = recognizer(inputs, return_datasamples=True)
    recs, samples = out['predictions'], out['datasamples']
    assert len(samples) == len(recs) == 5
    assert samples[2] is None and recs[2]['error']
    for rec, sample in zip(recs[:2] + recs[3:], samples[:2] + samples[3:]):
        assert sample.lr_path == rec['path']
        assert (sample.pred_text, float(sample.pred_scale)) == (rec['text'], rec['scale'])
        assert float(sample.pred_score) == rec['confidence']


def test_datasamples_are_left_out_unless_asked_for(recognizer, tiny_run):
    path = osp.join(tiny_run['data'], 'test', 'track_00000', 'lr-001.png')
    assert 'datasamples' not in recognizer(path)


def test_a_scale_the_student_was_not_trained_at_is_a_warning_once(tiny_run):
    from unittest import mock
    recognizer = PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu')
    image = np.full((20, 60, 3), 128, np.uint8)
    between = (SCALES[0] + SCALES[1]) / 2  # 0.8: nearest 1.0 or 0.6
    with mock.patch('dld.apis.plate_recognizer.print_log') as log:
        # 0.6002 gives 0.6's input size, and so reads with its statistics
        for scale in (SCALES[1], SCALES[1] + 2e-4, between, between, None):
            recognizer([image], scale=scale)
    [call] = log.call_args_list
    trained = ', '.join(f'{s:g}' for s in SCALES)
    assert f'scale {between:g} is none of the scales the student was trained at ({trained})' \
        in call.args[0]
    assert 'BatchNorm statistics of' in call.args[0]


def test_a_config_testing_on_several_sets_reads_with_the_first_sets_pipeline(tiny_run,
                                                                             recognizer):
    """A ConcatDataset test set ended in AttributeError 'pipeline' (infer.py,
    the ONNX export): its first set's pipeline and dictionary are taken."""
    cfg = Config.fromfile(tiny_run['config'])
    cfg.test_dataloader.dataset = dict(type='ConcatDataset',
                                       datasets=[cfg.test_dataloader.dataset] * 2)
    concat = PlateRecognizer(cfg, tiny_run['student'], device='cpu', batch_size=5)
    label_file = osp.join(tiny_run['data'], 'test.txt')
    assert [r['text'] for r in concat(label_file)['predictions']] == \
        [r['text'] for r in recognizer(label_file)['predictions']]
    cfg.test_dataloader.dataset = dict(type='ConcatDataset', datasets=[])
    with pytest.raises(ValueError, match='gives no pipeline'):
        PlateRecognizer(cfg, tiny_run['student'], device='cpu')


def test_a_test_pipeline_of_another_size_is_refused_before_any_image(tiny_run):
    """Each image was an error record of the same sentence, read one by one."""
    from dld.models.distillers.distiller_checks import InputSizeError
    cfg = Config.fromfile(tiny_run['config'])
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'ResizePair':
            step['lr_size'] = (32, 96)
    with pytest.raises(InputSizeError, match=r"ResizePair gives the model inputs of 32x96, but "
                                             r"the model reads at model.base_size=\(48, 144\)"):
        PlateRecognizer(cfg, tiny_run['student'], device='cpu')


def test_a_relative_folders_images_are_named_as_given_and_resumed_by_older_records(
        recognizer, tiny_run, monkeypatch):
    """Joined to the folder as given (they were absolute, a file given beside
    them not); records written before, with absolute names, still skip them
    (infer.py --resume)."""
    monkeypatch.chdir(osp.join(tiny_run['data'], 'test'))
    out = recognizer(['track_00000', 'track_00000/lr-001.png'])['predictions']
    assert [r['input'] for r in out] == [osp.join('track_00000', r['input'].split(osp.sep)[-1])
                                         for r in out[:-1]] + ['track_00000/lr-001.png']
    assert not any(osp.isabs(r['input']) for r in out)
    # read at its absolute path: records from another directory name it alike
    assert all(r['path'] == osp.abspath(r['input']) for r in out)
    older = {osp.abspath(r['input']) for r in out[:-1]}
    assert recognizer(['track_00000'], skip=older)['predictions'] == []
