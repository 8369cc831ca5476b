"""The FLOPs/accuracy report: files, agreement with a direct evaluation, the oracle."""
import copy
import csv
import json
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from tiny_dld import SCALES, evaluate_test_set

from dld.apis.flops_accuracy import (
    CachedTestSet,
    FlopsAccuracyEvaluator,
    MethodResult,
    metric_prefixes,
    scale_histogram,
)
from dld.apis.report_writing import write_report


@pytest.fixture(scope='module')
def report(tiny_run, tmp_path_factory):
    evaluator = FlopsAccuracyEvaluator(
        tiny_run['config'], tiny_run['student'], teacher_checkpoint=tiny_run['teacher'],
        baseline_checkpoint=tiny_run['baseline'], baseline_config=tiny_run['baseline_config'],
        device='cpu')
    rep = evaluator.evaluate()
    out = str(tmp_path_factory.mktemp('report'))
    return rep, write_report(rep, out)


@pytest.mark.slow
def test_a_report_that_fails_part_way_leaves_the_previous_one_whole(report, tmp_path,
                                                                   monkeypatch):
    import os

    from dld.apis import report_writing
    rep, _ = report
    paths = write_report(rep, str(tmp_path))
    before = {name: open(path, 'rb').read() for name, path in paths.items()}
    changed = copy.deepcopy(rep)
    changed['num_images'] += 1

    def no_plot(*args):
        raise RuntimeError('no room left on the disk')

    monkeypatch.setattr(report_writing, 'plot_scales', no_plot)
    with pytest.raises(RuntimeError, match='no room'):
        write_report(changed, str(tmp_path))
    assert {name: open(path, 'rb').read() for name, path in paths.items()} == before
    assert sorted(os.listdir(tmp_path)) == sorted(before)  # no temporary file left


def _rows(rep):
    return {r['method']: r for r in rep['methods']}


def _direct_metrics(tiny_run, force_scale=None):
    """What tools/test.py computes for the tiny run's student."""
    extra = {} if force_scale is None else dict(force_scale=force_scale)
    return evaluate_test_set(tiny_run['config'], tiny_run['student'], **extra)


@pytest.mark.slow
def test_every_report_file_is_written_and_parses(report):
    rep, paths = report
    with open(paths['report.json']) as f:
        assert json.load(f) == json.loads(json.dumps(rep))
    with open(paths['report.csv']) as f:
        rows = list(csv.DictReader(f))
    assert [r['method'] for r in rows] == [r['method'] for r in rep['methods']]
    # 1-NED, which words are read by, beside the exact accuracy (it was in the JSON only)
    for row, method in zip(rows, rep['methods']):
        ned = method['metrics'].get('plate/one_minus_ned')  # the oracle rows have none
        assert (float(row['one_minus_ned']) if row['one_minus_ned'] else None) == (
            pytest.approx(ned) if ned is not None else None)
    assert any(row['one_minus_ned'] for row in rows)
    md = open(paths['report.md']).read()
    assert 'fused multiply-add' in md and '| method' in md and 'pareto.png' in md
    import re
    assert re.search(r'\| plate acc\. \(%\) +\| 95% interval +\| char acc\. \(%\) +\| '
                     r'1-NED \(%\) +\|', md)
    from dld.apis.report_writing import markdown_report
    renamed = dict(rep, metric_prefixes=dict(plate='word', track='track'))
    assert 'word acc. (%)' in markdown_report(renamed)  # PlateRecogMetric(prefix='word')
    # what the accuracy columns count is said (an efficiency journey: only FLOPs were)
    assert '* plate acc.: the share of test images whose text is read whole and right; ' \
        'char acc.: the characters right at their position' in md and '1-NED: one minus' in md
    assert '* word acc.: the share' in markdown_report(renamed)
    # ops counted as 0 are said in the report, not only in the log
    assert rep['uncounted_ops'] == [] and '**Uncounted:**' not in md
    uncounted = markdown_report(dict(rep, uncounted_ops=['prim::PythonOp.CubeFn']))
    assert ('no FLOP count for prim::PythonOp.CubeFn, which count as 0: the GFLOPs of '
            'the rows that run them are lower bounds') in uncounted
    [source] = rep['inputs']['test_sets']
    assert source['ann_file'] == rep['inputs']['test_ann_file']
    two = dict(rep, inputs=dict(rep['inputs'], test_sets=[
        dict(type='PairedPlateDataset', data_root='/d/day', ann_file='test.txt'),
        dict(type='LRLPRTrackDataset', data_root='/d/night', ann_file=None)]))
    md_two = markdown_report(two)
    assert '* test set 1: `test.txt` (below `/d/day`)' in md_two
    assert '* test set 2: `/d/night`' in md_two
    # which config, checkpoint and test set, made how (report.md named none of it)
    import os.path as osp
    assert rep['inputs']['config'] == osp.abspath(rep['inputs']['config'])
    assert f"* config: `{rep['inputs']['config']}`" in md
    assert f"* checkpoint: `{rep['inputs']['checkpoint']}`" in md and '* test set: `' in md
    env = rep['environment']
    assert env['torch'] == torch.__version__ and env['threads'] == torch.get_num_threads()
    assert f"by DLD {env['dld']}" in md and f"torch {env['torch']}" in md
    for png in ('pareto.png', 'scales.png'):
        with open(paths[png], 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'


@pytest.mark.slow
def test_every_read_row_has_a_plate_accuracy_interval_over_tracks(report, tiny_run):
    from dld.evaluation.accuracy_interval import accuracy_interval
    rep, paths = report
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'], device='cpu',
                                       scales=[0.6], with_teacher=False)
    tracks = evaluator.track_ids()
    assert len(set(tracks)) < len(tracks)  # frames of one track: not independent images
    fixed = evaluator.read_fixed('dld', 0.6)
    expected = accuracy_interval(fixed.correct, tracks)
    row = _rows(rep)['dld@0.6']
    assert (row['accuracy_low'], row['accuracy_high']) == pytest.approx(
        (expected['low'], expected['high']))
    assert expected['effective_images'] <= len(tracks)
    for r in rep['methods']:
        assert r['accuracy_low'] <= r['accuracy'] <= r['accuracy_high'], r['method']
        assert r['accuracy_high'] - r['accuracy_low'] > 0, r['method']  # even at 0 % or 100 %
    with open(paths['report.csv']) as f:
        csv_row = next(c for c in csv.DictReader(f) if c['method'] == 'dld@0.6')
    assert float(csv_row['accuracy_low']) == pytest.approx(row['accuracy_low'])
    md = open(paths['report.md']).read()
    assert f"{100 * row['accuracy_low']:.1f}-{100 * row['accuracy_high']:.1f}" in md
    assert '* 95% interval: of the plate accuracy' in md and 'effective number' in md


@pytest.mark.slow
def test_report_json_keeps_every_rows_outcome_per_image_by_image_key(report, tiny_run):
    """per_image: one key per test image, in the order every row read them;
    one bit string per row that gives the row's accuracy and outcomes; its
    lists one line each; a row read again gives the same bits."""
    from dld.evaluation.per_image import read_block
    rep, paths = report
    text = open(paths['report.json']).read()
    on_disk = json.loads(text)
    block = read_block(on_disk)
    assert block is not None and list(on_disk)[-1] == 'per_image'
    n = rep['num_images']
    assert len(block['images']) == len(set(block['images'])) == n
    assert block['images'][0] == 'test/track_00000/lr-001.png'  # relative: any machine
    assert len(set(block['tracks'])) == n // 2  # 2 frames a track
    assert sum(1 for line in text.splitlines() if 'lr-001.png' in line) == 1
    for row in on_disk['methods']:
        bits = block['right'][row['method']]
        assert bits.count('1') / n == pytest.approx(row['accuracy']), row['method']
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'], device='cpu',
                                       scales=[0.6], with_teacher=False)
    fixed = evaluator.read_fixed('dld', 0.6)
    assert block['right']['dld@0.6'] == ''.join('1' if c else '0' for c in fixed.correct)
    assert block['tracks'] == evaluator.track_ids()


@pytest.mark.slow
def test_report_has_every_method(report):
    methods = set(_rows(report[0]))
    expected = {'teacher_hr', 'teacher_lr', 'dld_selector', 'oracle', 'oracle_matched'}
    expected |= {f'nokd@{s:g}' for s in SCALES} | {f'dld@{s:g}' for s in SCALES}
    assert methods == expected


@pytest.mark.slow
def test_selector_row_equals_a_direct_evaluation(report, tiny_run):
    assert _rows(report[0])['dld_selector']['metrics'] == _direct_metrics(tiny_run)


@pytest.mark.slow
@pytest.mark.parametrize('scale', SCALES)
def test_fixed_scale_rows_equal_a_direct_evaluation(report, tiny_run, scale):
    row = _rows(report[0])[f'dld@{scale:g}']
    assert row['metrics'] == _direct_metrics(tiny_run, force_scale=scale)


@pytest.mark.slow
def test_oracle_is_never_worse_than_a_fixed_scale_at_its_flops(report):
    rows = _rows(report[0])
    oracle = rows['oracle']
    fixed = [r for m, r in rows.items() if m.startswith('dld@')]
    for r in fixed:
        assert oracle['accuracy'] >= r['accuracy']
    assert oracle['gflops'] <= max(r['gflops'] for r in fixed) + 1e-12
    # the matched oracle reads as many plates as the selector (as many as the
    # smallest scale reads, where that is more: every image starts there),
    # for no more student FLOPs than the selector spends
    matched, sel = rows['oracle_matched'], rows['dld_selector']
    floor = rows[f'dld@{min(SCALES):g}']['metrics']['plate/num_correct']
    assert matched['metrics']['plate/num_correct'] == max(
        sel['metrics']['plate/num_correct'], floor)
    assert matched['gflops'] <= sel['gflops'] - report[0]['selector_gflops'] + 1e-12


@pytest.mark.slow
def test_flops_columns_follow_the_measured_costs(report):
    rep = report[0]
    rows = _rows(rep)
    for s in rep['per_scale']:
        assert rows[f"dld@{s['scale']:g}"]['gflops'] == pytest.approx(s['student_gflops'])
    assert rows['teacher_hr']['gflops'] == pytest.approx(rep['teacher_gflops'])
    assert rows['teacher_hr']['gflops_saved_pct'] == pytest.approx(0.0)
    hist = rep['scale_histogram']['dld_selector']
    mean = sum(n * next(p['with_selector_gflops'] for p in rep['per_scale']
                        if f"{p['scale']:g}" == s) for s, n in hist.items()) / sum(hist.values())
    assert rows['dld_selector']['gflops'] == pytest.approx(mean)
    assert all(r['images_per_s'] > 0 for m, r in rows.items()
               if m not in ('oracle', 'oracle_matched'))


def _oracle_table():
    """Fixed-scale results of 4 images at 3 scales, and costs of 1000 x scale."""
    def fixed(scale, correct):
        return MethodResult(f'dld@{scale}', '', scale, {}, 0.0, 0, None, len(correct),
                            correct=correct)
    table = {1.0: fixed(1.0, [True, True, False, True]),
             0.5: fixed(0.5, [True, False, False, True]),
             0.3: fixed(0.3, [False, False, False, True])}
    me = SimpleNamespace(costs=SimpleNamespace(student_flops_at=lambda s: int(s * 1000)))
    return table, me


def test_oracle_takes_the_smallest_right_scale_else_the_smallest():
    """An image no scale reads right costs the oracle least at the smallest
    scale: its FLOPs are the floor at its accuracy."""
    table, me = _oracle_table()
    res = FlopsAccuracyEvaluator._oracle(me, table, params=7)
    assert res.scales == [0.5, 1.0, 0.3, 0.3]
    assert res.correct == [True, True, False, True]
    assert res.metrics['plate/accuracy'] == 0.75
    assert res.gflops == pytest.approx((500 + 1000 + 300 + 300) / 4 / 1e9)


@pytest.mark.slow
def test_missing_teacher_and_baseline_are_noted_not_fatal(tiny_run, tmp_path):
    rep = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                 device='cpu').evaluate()
    methods = set(_rows(rep))
    assert 'teacher_hr' not in methods and not any(m.startswith('nokd@') for m in methods)
    assert len(rep['notes']) == 3  # the teacher's, the baseline's, and the 12 images'
    assert rep['notes'][-1].startswith('12 test images: one image is 8.3 pt of accuracy, so '
                                       'differences of a few points between rows are within '
                                       'chance')
    paths = write_report(rep, str(tmp_path))
    assert osp.isfile(paths['pareto.png'])


@pytest.mark.slow
def test_without_teacher_only_the_students_are_read(tiny_run):
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       teacher_checkpoint=tiny_run['teacher'],
                                       scales=[1.0], with_teacher=False)
    assert not evaluator.has_teacher and not evaluator.data.with_hr
    assert all('inputs_hr' not in b for b in evaluator.data.batches)
    methods = set(_rows(evaluator.evaluate()))
    assert 'dld@1' in methods and not any(m.startswith('teacher') for m in methods)


@pytest.mark.slow
@pytest.mark.parametrize('baseline', ['full', 'baseline'])
def test_baseline_without_a_config_is_built_like_the_dld_student(tiny_run, baseline):
    # 'full': a DLD run as the baseline, whose student keeps per-scale
    # BatchNorm statistics; 'baseline': a plain recognizer's shared ones.
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       baseline_checkpoint=tiny_run[baseline], scales=[0.6],
                                       with_teacher=False)
    nokd = evaluator.read_fixed('nokd', 0.6).correct
    if baseline == 'full':  # the same student: the same readings
        assert nokd == evaluator.read_fixed('dld', 0.6).correct
        # a DLD student is no no-KD student: its rows say so
        assert evaluator.read_fixed('nokd', 0.6).name == 'Baseline student @0.6'
        assert any('a DLD checkpoint' in note for note in evaluator.notes)
    else:
        assert evaluator.read_fixed('nokd', 0.6).name == 'No-KD student @0.6'
        direct = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                        baseline_checkpoint=tiny_run['baseline'],
                                        baseline_config=tiny_run['baseline_config'],
                                        scales=[0.6], with_teacher=False)
        assert nokd == direct.read_fixed('nokd', 0.6).correct


@pytest.mark.slow
def test_a_baseline_trained_at_a_size_no_scale_reads_is_noted(tiny_run, tmp_path):
    """A recognizer of one's own at a fixed LR size was read at the report's
    sizes, none its own, without a word."""
    from dld.utils.flops import scale_input_shapes
    ckpt = torch.load(tiny_run['baseline'], map_location='cpu', weights_only=True)
    base = tuple(Config.fromfile(tiny_run['config']).model.base_size)
    for scale, noted in ((0.5, True), (0.6, False)):
        ckpt['meta']['input_size'] = list(scale_input_shapes(base, [scale])[0])
        path = tmp_path / f'own_{scale}.pth'
        torch.save(ckpt, path)
        evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                           baseline_checkpoint=str(path), scales=[1.0, 0.6],
                                           with_teacher=False)
        said = [n for n in evaluator.notes if 'never trained at' in n]
        h, w = scale_input_shapes(base, [0.5])[0]
        assert said == ([f'the baseline ({path}) trained at {h}x{w}, which no scale of this '
                         f'report reads (1: {base[0]}x{base[1]}, 0.6: '
                         '{}x{}): its rows read sizes it never trained at; --scales 1 0.6 0.5 '
                         'adds its own ({}x{} is scale 0.5 of {}x{})'.format(
                             *scale_input_shapes(base, [0.6])[0], h, w, *base)]
                        if noted else [])


@pytest.mark.slow
def test_the_baseline_rows_take_the_name_given(tiny_run):
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       baseline_checkpoint=tiny_run['full'], scales=[0.6],
                                       with_teacher=False, baseline_name='DLD epoch 1')
    assert evaluator.read_fixed('nokd', 0.6).name == 'DLD epoch 1 @0.6'
    assert not any('a DLD checkpoint' in note for note in evaluator.notes)


def _born_again_run(tiny_run, tmp_path):
    """The tiny run's config with its student as an LR teacher (the lrteacher
    config's options), and the checkpoint such a run saves: its ``teacher.*``
    are that student's weights."""
    from mmengine.config import Config
    cfg = Config.fromfile(tiny_run['config'])
    cfg.model.teacher = copy.deepcopy(cfg.model.student)
    cfg.model.teacher.scale_norm = dict(scales=list(SCALES), base_size=list(cfg.model.base_size))
    cfg.model.update(teacher_ckpt=tiny_run['full'], teacher_from='student', teacher_input='lr',
                     teacher_scale=0.6)
    config = str(tmp_path / 'born_again.py')
    cfg.dump(config)
    state = torch.load(tiny_run['full'], map_location='cpu')['state_dict']
    state = {k: v for k, v in state.items() if not k.startswith('teacher.')}
    state.update({'teacher.' + k[len('student.'):]: v for k, v in state.items()
                  if k.startswith('student.')})
    checkpoint = str(tmp_path / 'born_again.pth')
    torch.save(dict(state_dict=state, meta={}), checkpoint)
    return config, checkpoint


@pytest.mark.slow
def test_born_again_teacher_is_not_reported_as_the_hr_teacher(tiny_run, tmp_path):
    # The full checkpoint holds teacher.* weights: without the guard the
    # born-again teacher's readings would be the 'Teacher on HR' rows.
    config, checkpoint = _born_again_run(tiny_run, tmp_path)
    evaluator = FlopsAccuracyEvaluator(config, checkpoint, scales=[1.0])
    assert not evaluator.has_teacher
    assert any("teacher_from='student'" in n and '--teacher-ckpt' in n for n in evaluator.notes)
    methods = set(_rows(evaluator.evaluate()))
    assert 'dld@1' in methods and not any(m.startswith('teacher') for m in methods)


@pytest.mark.slow
def test_hr_teacher_for_a_born_again_config_names_the_config_to_use(tiny_run, tmp_path):
    # An HR teacher wider than the student does not fit a born-again teacher,
    # which is built like the student (an HR teacher of the student's shape
    # loads, its BatchNorm statistics copied to every scale, and is read).
    from mmengine.registry import init_default_scope
    from tiny_dld import recognizer_cfg

    from dld.registry import MODELS
    config, checkpoint = _born_again_run(tiny_run, tmp_path)
    init_default_scope('dld')
    wide = tmp_path / 'wide_teacher.pth'
    torch.save(dict(state_dict=MODELS.build(recognizer_cfg(48)).state_dict(), meta={}), wide)
    with pytest.raises(RuntimeError, match='born-again.*configs/dld_plate.py'):
        FlopsAccuracyEvaluator(config, checkpoint, teacher_checkpoint=str(wide), scales=[1.0])


def test_oracle_at_the_selectors_accuracy_buys_the_cheapest_right_images():
    # image 0: right from 0.5 (+200), image 1: only at 1.0 (+700), image 2:
    # never, image 3: right at 0.3 already (free)
    table, me = _oracle_table()
    two = FlopsAccuracyEvaluator._oracle(me, table, params=7, num_correct=2)
    assert two.scales == [0.5, 0.3, 0.3, 0.3]
    assert sum(two.correct) == 2
    assert two.gflops == pytest.approx((500 + 300 + 300 + 300) / 4 / 1e9)
    # more than reachable: stops at the oracle's own accuracy
    four = FlopsAccuracyEvaluator._oracle(me, table, params=7, num_correct=4)
    assert sum(four.correct) == 3 and four.scales == [0.5, 1.0, 0.3, 0.3]
    full = FlopsAccuracyEvaluator._oracle(me, table, params=7)
    # the oracle is the floor at its own accuracy: the unreadable image at the smallest scale
    assert four.gflops == full.gflops and full.scales == four.scales


@pytest.mark.slow
def test_efficiency_setting_reports_the_teacher_once(tiny_run, tmp_path):
    """Where the student reads the HR crop itself, "Teacher on LR" would be
    the teacher on HR again: the report keeps one teacher row."""
    from mmengine.config import Config
    cfg = Config.fromfile(tiny_run['config'])
    cfg.test_dataloader.dataset.update(load_hr=True, pipeline=[
        dict(type='LoadPlateImages', with_lr=False, with_hr=True),
        dict(type='CopyHRToLR'),
        dict(type='ResizePair', lr_size=(48, 144), hr_size=(48, 144)),
        dict(type='PackPlateInputs', main_stream='lr'),
    ])
    config = str(tmp_path / 'efficiency.py')
    cfg.dump(config)
    evaluator = FlopsAccuracyEvaluator(config, tiny_run['student'],
                                       teacher_checkpoint=tiny_run['teacher'], scales=[1.0])
    methods = set(_rows(evaluator.evaluate()))
    assert 'teacher_hr' in methods and 'teacher_lr' not in methods and 'dld@1' in methods


@pytest.mark.slow
def test_amp_report_reads_in_bfloat16_and_says_so(report, tiny_run, tmp_path, monkeypatch):
    """``--amp``: every method is read under autocast, and the report names
    the precision; FLOPs, which do not depend on it, are those of float32."""
    from dld.apis.report_writing import markdown_report
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       teacher_checkpoint=tiny_run['teacher'], device='cpu',
                                       amp=True)
    seen = set()
    hook = evaluator.model.student.backbone.register_forward_hook(
        lambda module, args, out: seen.add(out.dtype))
    try:
        rep = evaluator.evaluate()
    finally:
        hook.remove()
    assert seen == {torch.bfloat16}
    assert rep['precision'] == 'bfloat16' and report[0]['precision'] == 'float32'
    assert 'device: cpu in bfloat16;' in markdown_report(rep)
    assert 'device: cpu;' in markdown_report(report[0])
    fp32 = _rows(report[0])
    for method, row in _rows(rep).items():
        if method.startswith(('dld@', 'teacher')):  # fixed scales: the FLOPs are fixed
            assert row['gflops'] == pytest.approx(fp32[method]['gflops'])
        assert 0.0 <= row['accuracy'] <= 1.0


def test_oracle_of_an_empty_test_set_reads_nothing():
    table, me = _oracle_table()
    empty = {s: MethodResult(r.method, '', s, {}, 0.0, 0, None, 0, correct=[])
             for s, r in table.items()}
    for num_correct in (None, 0):
        res = FlopsAccuracyEvaluator._oracle(me, empty, params=7, num_correct=num_correct)
        assert res.num_images == 0 and res.correct == [] and res.scales == []
        assert res.metrics['plate/accuracy'] == 0.0 and res.gflops == 0.0


def test_max_batches_below_one_is_refused():
    with pytest.raises(ValueError, match='max_batches must be >= 1'):
        CachedTestSet(SimpleNamespace(), with_hr=False, max_batches=0)


def test_scale_histogram_counts_scales_outside_the_evaluated_ones():
    # --scales 1.0 0.6, but the selector also picks its candidate 0.4
    hist = scale_histogram([0.4, 0.6, 0.4, 0.4], [1.0, 0.6])
    assert hist == {'1': 0, '0.6': 1, '0.4': 3}
    assert list(hist) == ['1', '0.6', '0.4']


def test_scales_read_are_compared_with_the_selectors_candidates_both_ways():
    evaluator = SimpleNamespace(scales=[1.0, 0.5, 0.3],
                                model=SimpleNamespace(scales=[1.0, 0.6, 0.3]))
    assert FlopsAccuracyEvaluator.scales_not_candidates(evaluator) == [0.5]
    assert FlopsAccuracyEvaluator.candidates_left_out(evaluator) == [0.6]


@pytest.mark.slow
def test_histogram_of_every_chosen_scale_adds_up_to_the_images(tiny_run, tmp_path):
    from mmengine.config import Config
    cfg = Config.fromfile(tiny_run['config'])
    cfg.model.test_cfg = dict(reread=dict(min_score=0.99, scales=[1.0]))
    # Only 1.0 is read at a fixed scale; the selector chooses among all three.
    evaluator = FlopsAccuracyEvaluator(cfg, tiny_run['student'], scales=[1.0],
                                       with_teacher=False)
    rep = evaluator.evaluate()
    hist = rep['scale_histogram']
    assert set(hist) == {'dld_selector', 'dld_reread', 'oracle', 'oracle_matched',
                         'oracle_matched_reread'}
    for method, counts in hist.items():
        assert sum(counts.values()) == rep['num_images'], method
    assert any(k != '1' and n for k, n in hist['dld_selector'].items()), \
        'the tiny selector should choose a scale below 1.0 for some image'
    paths = write_report(rep, str(tmp_path))
    assert osp.isfile(paths['scales.png'])
    # The oracle could choose only 1.0, the selector any candidate: its rows
    # and the notes say so, and the report names both sets of scales.
    assert rep['scales'] == [1.0] and rep['candidate_scales'] == sorted(SCALES, reverse=True)
    names = {r['method']: r['name'] for r in rep['methods']}
    for method in ('oracle', 'oracle_matched', 'oracle_matched_reread'):
        assert names[method].endswith('(scales 1 only)'), names[method]
    left_out = ', '.join(f'{s:g}' for s in sorted(SCALES, reverse=True) if s != 1.0)
    assert any(f'candidate scale(s) {left_out} left out by --scales' in n for n in rep['notes'])
    # the section on the selector's choices is left out, and a note says why
    assert rep['selector_choices'] is None
    assert any(n.startswith("no section on the selector's choices: it chose scale(s) ")
               for n in rep['notes'])
    # each row's counts are keyed by the scales it can choose
    for method in ('dld_selector', 'dld_reread'):
        assert list(hist[method]) == [f'{s:g}' for s in sorted(SCALES, reverse=True)]
    for method in ('oracle', 'oracle_matched', 'oracle_matched_reread'):
        assert list(hist[method]) == ['1']


@pytest.mark.slow
def test_an_oracle_over_fewer_scales_than_the_selectors_says_it_reads_fewer(tiny_run):
    """At 0.4x alone the tiny student reads fewer plates than its selector:
    the oracle row "at the selector's accuracy" cannot get there, and a note
    says so."""
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       scales=[min(SCALES)], with_teacher=False)
    rep = evaluator.evaluate()
    rows = {r['method']: r for r in rep['methods']}
    selector, oracle = rows['dld_selector'], rows['oracle_matched']
    assert oracle['accuracy'] < selector['accuracy']
    assert list(rep['scale_histogram']['dld_selector']) == \
        [f'{s:g}' for s in sorted(SCALES, reverse=True)]
    n = rep['num_images']
    says = (f"{oracle['name']!r} reads {round(oracle['accuracy'] * n)} of {n} plates, fewer "
            f"than {selector['name']!r} ({round(selector['accuracy'] * n)})")
    assert any(note.startswith(says) for note in rep['notes'])


def _without_hr_for_one_track(tiny_run, tmp_path):
    """The tiny test set with track 0 LR-only, read with strict=False."""
    from mmengine.config import Config
    lines = open(osp.join(tiny_run['data'], 'test.txt')).read().splitlines()
    lr, rest = lines[0].split('|')
    lines[0] = f"{lr}\t{rest.split(chr(9))[1]}"
    ann = tmp_path / 'test_mixed.txt'
    ann.write_text('\n'.join(lines) + '\n')
    cfg = Config.fromfile(tiny_run['config'])
    cfg.test_dataloader.dataset.update(ann_file=str(ann), strict=False)
    return cfg


@pytest.mark.slow
def test_tracks_without_hr_leave_only_the_teacher_on_hr_row(tiny_run, tmp_path):
    cfg = _without_hr_for_one_track(tiny_run, tmp_path)
    evaluator = FlopsAccuracyEvaluator(cfg, tiny_run['student'],
                                       teacher_checkpoint=tiny_run['teacher'], device='cpu')
    rep = evaluator.evaluate()
    rows = _rows(rep)
    frames = rep['num_images']
    assert frames == 12  # 6 tracks x 2 frames, as tools/test.py reads them
    assert rows['teacher_hr']['num_images'] == frames - 2
    for method, row in rows.items():
        if method != 'teacher_hr':
            assert row['num_images'] == frames, method
    # The students read the LR frames of every track: the unchanged test set's numbers.
    assert rows['dld_selector']['metrics'] == _direct_metrics(tiny_run)
    assert any('Teacher on HR read 10 of the 12' in n for n in rep['notes'])
    paths = write_report(rep, str(tmp_path / 'report'))
    assert 'All methods but Teacher on HR read the same 12' in open(paths['report.md']).read()
    # per image: the teacher's row has '-' for the two frames of the track it could not read
    right = rep['per_image']['right']
    assert right['teacher_hr'][:2] == '--' and '-' not in right['teacher_hr'][2:]
    assert all('-' not in b for m, b in right.items() if m != 'teacher_hr')


@pytest.mark.slow
def test_a_config_object_is_named_by_its_file_in_the_report(tiny_run):
    """tools/flops_accuracy.py hands the evaluator a Config (its --cfg-options
    applied): report.json's inputs still name the config file."""
    from dld.apis.model_loading import load_config
    cfg = load_config(tiny_run['config'], dict(test_dataloader=dict(batch_size=4)))
    evaluator = FlopsAccuracyEvaluator(cfg, tiny_run['student'], with_teacher=False,
                                       device='cpu', max_batches=1)
    assert evaluator.paths['config'] == tiny_run['config']


@pytest.mark.slow
def test_a_concatenated_test_set_gets_its_teacher_on_hr_row(tiny_run):
    """'teacher on HR skipped: dataset type ConcatDataset has no pipeline to
    add HR to': the HR frames are loaded in every set of it."""
    from dld.apis.model_loading import load_config
    cfg = load_config(tiny_run['config'])
    one = cfg.test_dataloader.dataset
    cfg.test_dataloader.dataset = dict(type='ConcatDataset', datasets=[one])
    evaluator = FlopsAccuracyEvaluator(cfg, tiny_run['student'],
                                       teacher_checkpoint=tiny_run['teacher'], device='cpu',
                                       max_batches=1)
    assert not [n for n in evaluator.notes if n.startswith('teacher on HR skipped')]
    assert evaluator.data.hr_batches


@pytest.mark.slow
def test_max_batches_over_two_sets_says_how_many_sets_it_read(tiny_run):
    """The first batches of a concatenation are its first set's: report.md
    listed "test set 2" under Inputs without a word that none of it was read
    (a mixing journey)."""
    from dld.apis.model_loading import load_config
    cfg = load_config(tiny_run['config'], dict(test_dataloader=dict(batch_size=2)))
    one = cfg.test_dataloader.dataset
    # two splits: one set twice is refused (each image scored once)
    cfg.test_dataloader.dataset = dict(type='ConcatDataset', datasets=[
        dict(one, track_prefix='a/'), dict(one, ann_file='val.txt', track_prefix='b/')])
    evaluator = FlopsAccuracyEvaluator(cfg, tiny_run['student'], with_teacher=False,
                                       device='cpu', max_batches=1)
    [note] = [n for n in evaluator.notes if n.startswith('only the first 1 test batch')]
    assert '(2 images, from 1 of the 2 test sets, in their order, max_batches)' in note


@pytest.mark.slow
def test_a_strict_test_set_with_some_lr_only_tracks_is_not_said_to_have_no_hr(tiny_run,
                                                                               tmp_path):
    """One track without HR frames, strict=True: the teacher-on-HR row is
    skipped, and the note neither claims the set has no HR frames nor hides
    how to read the tracks that have them."""
    cfg = _without_hr_for_one_track(tiny_run, tmp_path)
    cfg.test_dataloader.dataset.strict = True
    evaluator = FlopsAccuracyEvaluator(cfg, tiny_run['student'],
                                       teacher_checkpoint=tiny_run['teacher'], device='cpu',
                                       max_batches=1)
    [note] = [n for n in evaluator.notes if n.startswith('teacher on HR skipped')]
    assert 'has no HR frames' not in note
    assert 'LR-only track' in note and 'strict=False' in note


@pytest.mark.slow
def test_the_hr_teacher_reads_the_stretched_hr_frame_whole(tiny_run, monkeypatch):
    """The cached samples are the LR frames': their valid_ratio (the LR
    padding) must not mask the teacher's reading of the unpadded HR frame."""
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       teacher_checkpoint=tiny_run['teacher'], scales=[1.0])
    for batch in evaluator.data.batches + evaluator.data.hr_batches:
        for ds in batch['data_samples']:
            ds.set_metainfo(dict(valid_ratio=0.5))
    seen = {}
    run = evaluator._run

    def recording_run(method, name, scale, model, predict, *args, **kwargs):
        def recording(x, samples):
            seen.setdefault(method, set()).update(ds.metainfo['valid_ratio'] for ds in samples)
            return predict(x, samples)
        return run(method, name, scale, model, recording, *args, **kwargs)

    monkeypatch.setattr(evaluator, '_run', recording_run)
    evaluator.evaluate()
    assert seen['teacher_hr'] == {1.0}
    assert all(ratios == {0.5} for method, ratios in seen.items() if method != 'teacher_hr')


@pytest.mark.slow
def test_a_full_checkpoints_teacher_is_named_in_the_inputs(tiny_run):
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['full'], scales=[1.0],
                                       max_batches=1)
    assert evaluator.has_teacher
    assert evaluator.paths_teacher == f"{tiny_run['full']} (its teacher)"


@pytest.mark.slow
def test_a_forced_scale_is_refused(tiny_run):
    cfg = Config.fromfile(tiny_run['config'])
    cfg.model.test_cfg = dict(cfg.model.get('test_cfg') or {}, force_scale=0.5)
    with pytest.raises(ValueError, match=r"force_scale=0.5, which would read the selector's"):
        FlopsAccuracyEvaluator(cfg, tiny_run['student'], scales=[1.0])


def test_the_pareto_legend_names_each_point_as_its_row_does():
    from dld.apis.report_writing import _pareto_panel, _plt
    plt = _plt()
    fig, ax = plt.subplots()
    rows = [dict(method='oracle', name='Oracle selector (scales 1, 0.5 only)', gflops=0.1,
                 accuracy=0.9, scale=None),
            dict(method='dld_selector', name='DLD + selector', gflops=0.2, accuracy=0.8,
                 scale=None)]
    _pareto_panel(ax, rows, 'accuracy')
    assert ax.get_legend_handles_labels()[1] == [
        'Oracle selector (scales 1, 0.5 only)', 'DLD + selector']
    plt.close(fig)


@pytest.mark.slow
def test_renamed_metric_prefixes_still_fill_the_accuracy_columns(tiny_run):
    from dld.apis.model_loading import load_config
    cfg = load_config(tiny_run['config'], {
        'test_evaluator': [dict(type='PlateRecogMetric', prefix='word'),
                           dict(type='TrackAccuracyMetric', prefix='group')]})
    evaluator = FlopsAccuracyEvaluator(cfg, tiny_run['student'], scales=[1.0],
                                       with_teacher=False, device='cpu')
    rows = _rows(evaluator.evaluate())
    for method in ('dld@1', 'oracle'):
        assert rows[method]['accuracy'] is not None, method
    assert rows['dld@1']['metrics']['word/accuracy'] == rows['dld@1']['accuracy']
    assert rows['dld@1']['track_accuracy'] == rows['dld@1']['metrics']['group/accuracy']
    assert rows['dld@1']['char_accuracy'] is not None


def test_of_two_plate_metrics_the_report_reads_the_first_as_correct_is_judged():
    """plate_metric_case_sensitive reads the first plate metric; the
    accuracy column must come from the same one."""
    from dld.apis.plate_matching import plate_metric_case_sensitive
    metrics = [dict(type='PlateRecogMetric', prefix='word', case_sensitive=True),
               dict(type='PlateRecogMetric'),
               dict(type='TrackAccuracyMetric'), dict(type='TrackAccuracyMetric', prefix='t2')]
    evaluator = Evaluator(copy.deepcopy(metrics))
    assert metric_prefixes(evaluator) == dict(plate='word', track='track')
    assert plate_metric_case_sensitive(Config(dict(test_evaluator=metrics))) is True
    assert metric_prefixes(Evaluator([])) == dict(plate='plate', track='track')


@pytest.mark.slow
def test_a_teacher_work_dir_is_read_as_model_teacher_ckpt_reads_it(tiny_run, tmp_path):
    """--teacher-ckpt work_dirs/teacher was 'Checkpoint not found', where
    model.teacher_ckpt takes the work dir (an extension journey)."""
    import os
    work = tmp_path / 'teacher_run'
    work.mkdir()
    os.symlink(tiny_run['teacher'], work / 'best.pth')
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       teacher_checkpoint=str(work), scales=[1.0])
    assert evaluator.has_teacher and evaluator.paths_teacher == str(work / 'best.pth')


def test_the_console_table_fits_100_columns_and_the_files_keep_every_column():
    """tools/flops_accuracy.py printed report.md's table, 213 columns wide."""
    from dld.apis.report_writing import console_report, markdown_report
    only = ' (scales 1, 0.4 only)'
    rows = [('teacher_hr', 'Teacher on HR', 1.0), ('dld_reread', 'DLD + selector + reread', None),
            ('oracle', 'Oracle selector' + only, None),
            ('oracle_matched', "Oracle at the selector's accuracy" + only, None)]
    rep = dict(num_images=1200, device='cuda', base_size=[48, 144], precision='bfloat16',
               per_scale=[], teacher_gflops=1.0, selector_gflops=0.001, convention='x',
               params=dict(teacher=1e6, student=1e6, selector=1e4), methods=[
                   dict(method=m, name=n, scale=s, accuracy=0.9876, char_accuracy=0.99,
                        one_minus_ned=0.995, track_accuracy=1.0, gflops=12.3456,
                        gflops_saved_pct=99.9, params=123456789, images_per_s=12345)
                   for m, n, s in rows])
    text = console_report(rep)
    assert max(len(line) for line in text.splitlines()) <= 100, text
    assert "| Oracle at the selector's accuracy* | oracle " in text
    import re
    assert '\n* scales 1, 0.4 only' in text
    assert re.search(r'\| DLD \+ selector \+ reread +\| chosen ', text)
    assert '98.76' in text and '12.3456' in text
    assert 'device: cuda in bfloat16' in text and 'report.md' in text
    # the file keeps the long names and every column
    md = markdown_report(rep)
    assert "Oracle at the selector's accuracy" + only in md and '| char acc. (%)' in md


def test_a_second_evaluate_repeats_no_note_and_takes_no_external_row(tiny_run):
    """The report's notes were the evaluator's own list: a second
    evaluate() (a notebook cell run again) said its notes twice and kept
    the external rows' note add_external_rows had added to the first."""
    import pathlib

    from dld.apis.external_predictions import add_external_rows
    evaluator = FlopsAccuracyEvaluator(pathlib.Path(tiny_run['config']),
                                       pathlib.Path(tiny_run['student']), with_teacher=False,
                                       scales=[1.0, 0.6], max_batches=1)
    first = evaluator.evaluate()
    notes = list(first['notes'])
    add_external_rows(first, points=['CRNN (paper):93.1:0.41'])
    second = evaluator.evaluate()
    assert second['notes'] == notes
    assert second['inputs']['config'] == osp.abspath(tiny_run['config'])
    json.dumps(second)  # no pathlib.Path left in it


def _two_cameras(tiny_run, tmp_path, prefixes=('camA/', 'camB/')):
    """The tiny test set and a second camera's (another seed, smaller crops),
    evaluated together with each set's figures (group_by='set')."""
    from dld.apis.model_loading import load_config
    from dld.datasets.synth import generate_synth_plates
    generate_synth_plates(str(tmp_path / 'camB'), seed=7, tracks=1, val_tracks=1,
                          test_tracks=3, frames=2, progress=False,
                          layouts=('mercosur', ), degradation=dict(scale=(0.2, 0.25)))
    cfg = load_config(tiny_run['config'])
    one = cfg.test_dataloader.dataset
    cfg.test_dataloader.dataset = dict(type='ConcatDataset', datasets=[
        dict(one, track_prefix=prefixes[0]),
        dict(one, data_root=str(tmp_path / 'camB'), track_prefix=prefixes[1])])
    cfg.test_evaluator = [dict(type='PlateRecogMetric', group_by='set'),
                          dict(type='TrackAccuracyMetric', group_by='set'),
                          dict(type='ReadingCostMetric', group_by='set')]
    return cfg


@pytest.mark.slow
def test_two_cameras_sharing_track_ids_are_refused_before_a_row_is_read(tiny_run, tmp_path):
    """Both sets hold 'test/track_00000': tools/test.py refuses them before
    reading (TrackIdsCheckHook); the report read the teacher's row whole,
    then stopped in its track metric with a traceback."""
    from dld.datasets.errors import SharedTrackIdError
    cfg = _two_cameras(tiny_run, tmp_path, prefixes=('', ''))
    with pytest.raises(SharedTrackIdError, match="share 3 track id.*'test/track_00000'"):
        FlopsAccuracyEvaluator(cfg, tiny_run['student'], with_teacher=False, device='cpu')


@pytest.mark.slow
def test_two_cameras_get_each_their_accuracy_cost_and_scales_in_report_md(tiny_run, tmp_path):
    """report.json held each camera's figures under each row's metrics,
    report.md none of them, and no metric gave a camera's share of each scale."""
    cfg = _two_cameras(tiny_run, tmp_path)
    report = FlopsAccuracyEvaluator(cfg, tiny_run['student'], with_teacher=False,
                                    device='cpu', scales=SCALES).evaluate()
    [row] = [r for r in report['methods'] if r['method'] == 'dld_selector']
    m = row['metrics']
    for cam, n in (('camA', 12), ('camB', 6)):
        shares = {k: v for k, v in m.items() if k.startswith('cost/share_') and
                  k.endswith(f'/{cam}')}
        assert len(shares) == len(SCALES) and sum(shares.values()) == pytest.approx(1.0)
        assert m[f'cost/num_images/{cam}'] == n
    paths = write_report(report, str(tmp_path / 'report'))
    text = open(paths['report.md'], encoding='utf-8').read()
    section = text[text.index('## Each group of the test set'):text.index('## The selector')]
    assert '| camA: plate acc. (%)' in section and 'camB: GFLOPs / image' in section
    selector_line = next(line for line in section.splitlines()
                         if line.startswith('| DLD + selector ') and '| camB ' in line)
    share = m['cost/share_0.6/camB']
    assert f'| {100 * share:.1f} ' in selector_line


def test_per_image_records_after_an_evaluate_that_stopped_are_refused_not_stale(tiny_run):
    """A second evaluate() stopped part way (a Ctrl-C in a notebook) left the
    first one's rows: per_image_records() returned them as the last call's."""
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       with_teacher=False, max_batches=1)
    evaluator.evaluate()
    records = evaluator.per_image_records()
    assert len(records) == evaluator.data.num_images
    # the label file's line, as infer.py's records of the same file say it
    # (analyze_readings' likely label errors named paths where they had none)
    from dld.apis.input_items import expand_inputs
    test_file = osp.join(tiny_run['data'], 'test.txt')
    lines = {item.path: item.annotation for item in expand_inputs(test_file)}
    assert [r['annotation'] for r in records] == [lines[r['path']] for r in records]
    assert all(r['annotation'].startswith(f'{test_file}:') for r in records)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    evaluator.read_fixed = stopped
    with pytest.raises(KeyboardInterrupt):
        evaluator.evaluate()
    with pytest.raises(RuntimeError, match='evaluate'):
        evaluator.per_image_records()


def test_per_image_records_are_of_the_scales_the_last_evaluate_read(tiny_run):
    evaluator = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                       with_teacher=False, max_batches=1, scales=0.6)
    assert evaluator.scales == [0.6]  # one scale given bare, as --scales 0.6
    evaluator.evaluate()
    evaluator.scales = [1.0, 0.6]  # set after: a KeyError 'dld@1' in the records
    assert {tuple(r['by_scale']) for r in evaluator.per_image_records()} == {('0.6', )}
    evaluator.evaluate()
    assert {tuple(r['by_scale']) for r in evaluator.per_image_records()} == {('1', '0.6')}
