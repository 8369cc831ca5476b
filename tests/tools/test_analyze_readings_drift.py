"""analyze_readings.py --drift: a camera's days (other images, no labels) against a reference."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from tiny_dld import make_tiny_run  # noqa: E402


def _tool():
    return load_script('tools/analysis/analyze_readings.py')


def _day(path, seed, n=200, conf_shift=0.0, dear=0.3):
    """n unlabelled readings of images of their own: confidences around 0.8
    (lowered by ``conf_shift``), a share ``dear`` read at 1.0x."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        scale = 1.0 if rng.random() < dear else 0.6
        conf = float(np.clip(rng.normal(0.8 - conf_shift, 0.1), 0, 1))
        recs.append(dict(input=f'{path.stem}/{i}.png', path=f'/cam/{path.stem}/{i}.png',
                         text='ABC1234', confidence=conf, scale=scale, gflops=0.1 * scale,
                         gflops_teacher=0.1, image_size=[16, 48], truncated=False,
                         track_id=path.stem, frame_idx=i, error=None))
    path.write_text(''.join(json.dumps(r) + '\n' for r in recs))
    return str(path)


def test_two_days_of_other_images_are_compared_unpaired(tmp_path, capsys):
    """Without --drift two days were refused ('hold different images'): the
    paired comparison is the only one there was."""
    ref, same = _day(tmp_path / 'mon.jsonl', 0), _day(tmp_path / 'tue.jsonl', 1)
    low = _day(tmp_path / 'wed.jsonl', 2, conf_shift=0.1)
    dear = _day(tmp_path / 'thu.jsonl', 3, dear=0.8)
    assert _tool().main([ref, same]) == 2
    assert 'hold different images' in capsys.readouterr().err
    rules = ['--fail-if', 'confidence<-0.05', 'gflops>20']
    assert _tool().main(['--drift', ref, same] + rules + ['--json', str(tmp_path / 'd.json')]) == 0
    out = capsys.readouterr().out
    assert 'None: no file breaks confidence<-0.05, gflops>20.' in out
    found = json.loads((tmp_path / 'd.json').read_text())['drift']
    assert not found['changes'][same]['confidence']['beyond_chance']
    assert _tool().main(['--drift', ref, same, low, dear] + rules) == 1
    out = capsys.readouterr().out
    assert '* wed.jsonl: confidence<-0.05' in out and '* thu.jsonl: gflops>20' in out
    assert 'tue.jsonl: confidence' not in out.split('## Alerts')[1]
    # the table: one column per day, the change and its interval, ▼ beyond chance
    row = next(line for line in out.splitlines() if line.startswith('| confidence'))
    assert row.count('|') == 6 and '▼' in row


def test_a_rule_naming_no_figure_is_refused(tmp_path, capsys):
    ref, other = _day(tmp_path / 'a.jsonl', 0), _day(tmp_path / 'b.jsonl', 1)
    assert _tool().main(['--drift', ref, other, '--fail-if', 'scale:0.4>10']) == 2
    assert "no figure 'scale:0.4'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _tool().main(['--drift', ref, other, '--fail-if', 'confidence=0.1'])
    with pytest.raises(SystemExit):
        _tool().main([ref, other, '--fail-if', 'confidence<0'])
    assert '--fail-if and --low-confidence go with --drift' in capsys.readouterr().err


def test_the_tests_read_as_their_definitions():
    from dld.apis.reading_drift import chi_square, mann_whitney
    assert chi_square([10, 10], [10, 10])['p'] == pytest.approx(1.0)
    found = chi_square([30, 10, 10], [10, 30, 10])  # 40 expected 20: (10²/20)·4 = 20
    assert (found['statistic'], found['df']) == (pytest.approx(20.0), 2)
    assert found['p'] == pytest.approx(np.exp(-10.0))  # chi-square of 2 df: e^(-x/2)
    assert chi_square([10, 0], [5, 0]) is None  # one scale used: nothing to test
    assert mann_whitney([1, 2, 3], [1, 2, 3]) == dict(p=1.0, superiority=0.5)
    assert mann_whitney([1, 2, 3, 4], [5, 6, 7, 8])['superiority'] == 1.0
    assert mann_whitney([0.5] * 5, [0.5] * 5) == dict(p=1.0, superiority=0.5)
    assert mann_whitney([], [1.0]) is None


@pytest.mark.slow
def test_a_blurred_day_of_the_tiny_model_alerts_and_another_plain_day_does_not(
        tmp_path_factory, tmp_path, capsys):
    """Real readings: the tiny student on two generated days of other plates
    and on the first day's crops blurred (a camera out of focus)."""
    import cv2
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    make = load_script('tools/make_synth_plates.py')
    infer = load_script('tools/infer.py')
    days = {}
    for name, seed, blur in (('mon', 11, 0), ('tue', 12, 0), ('wed', 11, 1.2)):
        gen = tmp_path / f'gen{seed}'
        if not gen.is_dir():
            make.main([str(gen), '--tracks', '1', '--val-tracks', '1', '--test-tracks',
                       '40', '--frames', '2', '--seed', str(seed), '--no-progress'])
        crops = tmp_path / name
        os.makedirs(crops)
        for track in sorted((gen / 'test').iterdir()):
            for frame in sorted(track.glob('lr-*.png')):
                img = cv2.imread(str(frame))
                if blur:
                    img = cv2.GaussianBlur(img, (0, 0), blur)
                cv2.imwrite(str(crops / f'{track.name}_{frame.name}'), img)
        days[name] = str(tmp_path / f'{name}.jsonl')
        assert infer.main([run['config'], run['student'], str(crops), '--out', days[name],
                           '--no-progress', '--device', 'cpu']) == 0
    capsys.readouterr()
    # the tiny selector's share at 1.0x swings 15-20 pt between days of 80
    # plain crops (its choice is near even): a cost rule looser than that
    rules = ['--fail-if', 'confidence<-0.05', 'low_confidence>15', 'gflops>30']
    assert _tool().main(['--drift', days['mon'], days['tue']] + rules) == 0
    assert _tool().main(['--drift', days['mon'], days['tue'], days['wed']] + rules) == 1
    alerts = capsys.readouterr().out.split('## Alerts')[-1]
    assert 'wed.jsonl: confidence<-0.05' in alerts and 'tue.jsonl' not in alerts


def test_readings_without_a_confidence_are_no_fall_of_confidence():
    """Records read with no confidence (another method's, score_predictions.py)
    counted as confidence 0: 'mean confidence -0.8, beyond chance', and
    --fail-if confidence<-0.05 failed a day that read as the reference."""
    from dld.apis.reading_drift import drift
    rng = np.random.default_rng(0)

    def day(with_confidence):
        return [dict(input=f'{i}.png', text='ABC', error=None, scale=1.0, gflops=0.1,
                     confidence=float(rng.uniform(0.5, 1)) if with_confidence else None)
                for i in range(100)]

    found = drift(dict(ref=day(True), other=day(False)))
    assert found['files']['other']['confidence'] is None
    assert 'confidence' not in found['changes']['other']
    assert 'low_confidence' not in found['changes']['other']


def test_a_rule_names_a_scale_as_the_config_does_and_any_scale_of_the_model(tmp_path, capsys):
    """'scale:1.0>15' (the config's 1.0) was refused ('no figure scale:1.0'),
    and a rule on a scale of the model that no file chose that day (a cron
    job's 'scale:0.4>10') ended the job with exit status 2 until one did."""
    paths = []
    for name, seed, dear in (('ref', 0, 0.3), ('day', 1, 0.8)):
        path = tmp_path / f'{name}.jsonl'
        _day(path, seed, dear=dear)
        recs = [dict(json.loads(line), scale_probs={'1': 0.5, '0.6': 0.4, '0.4': 0.1})
                for line in path.read_text().splitlines()]
        path.write_text(''.join(json.dumps(r) + '\n' for r in recs))
        paths.append(str(path))
    assert _tool().main(['--drift', *paths, '--fail-if', 'scale:1.0>15',
                         '--fail-if', 'scale:0.4>10']) == 1
    out = capsys.readouterr().out
    assert '* day.jsonl: scale:1.0>15 (scale:1 +' in out
    assert '| scale:0.4: share read at 0.4x' in out


def test_an_unquoted_rule_and_two_days_without_drift_say_what_to_do(tmp_path, capsys):
    ref, other = _day(tmp_path / 'a.jsonl', 0), _day(tmp_path / 'b.jsonl', 1)
    with pytest.raises(SystemExit):  # --fail-if gflops>20 unquoted: a file '20', and 'gflops'
        _tool().main(['--drift', ref, other, '--fail-if', 'gflops'])
    assert "quote each rule, as in 'gflops>20'" in capsys.readouterr().err
    assert _tool().main([ref, other]) == 2
    assert '--drift compares what their readings look like' in capsys.readouterr().err
