"""Whether a reading is right, as the config's plate metric counts it."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from dld.apis import PlateRecognizer
from dld.apis.plate_matching import plate_metric_case_sensitive
from dld.evaluation import PlateRecogMetric

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('evaluator', [
    dict(type='PlateRecogMetric', case_sensitive=True),
    [dict(type='TrackAccuracyMetric'), dict(type='dld.PlateRecogMetric', case_sensitive=True)],
    # MMEngine's Evaluator form, and a type given as the class (pure-Python configs)
    dict(type='Evaluator', metrics=[dict(type='PlateRecogMetric', case_sensitive=True)]),
    dict(metrics=dict(type=PlateRecogMetric, case_sensitive=True)),
], ids=['one', 'list', 'evaluator', 'class'])
def test_every_form_of_the_test_evaluator_is_read(evaluator):
    assert plate_metric_case_sensitive(Config(dict(test_evaluator=evaluator)))


def test_a_config_without_a_plate_metric_compares_without_case():
    assert not plate_metric_case_sensitive(Config(dict(test_evaluator=[])))
    assert not plate_metric_case_sensitive(Config(dict()))


@pytest.mark.parametrize('flag', ['False', 'no', None, 2])
def test_a_case_sensitive_the_metric_refuses_is_refused_not_read_as_true(flag):
    # test.py refuses test_evaluator's case_sensitive='False' (a string, so
    # true); infer.py read it as true, compared case and recorded
    # case_sensitive: true
    cfg = Config(dict(test_evaluator=[dict(type='PlateRecogMetric', case_sensitive=flag)]))
    with pytest.raises(TypeError, match='PlateRecogMetric.case_sensitive is True or False'):
        plate_metric_case_sensitive(cfg)
    with pytest.raises(TypeError, match='PlateRecogMetric.case_sensitive is True or False'):
        PlateRecogMetric(case_sensitive=flag)
    # 0 and 1 mean what they say, as the metric takes them
    assert plate_metric_case_sensitive(Config(dict(test_evaluator=dict(
        type='PlateRecogMetric', case_sensitive=1))))


def test_whether_a_config_has_a_plate_metric_for_the_reports_columns():
    from dld.apis.plate_matching import has_plate_metric
    assert not has_plate_metric(Config(dict(test_evaluator=[dict(type='TrackAccuracyMetric')])))
    assert not has_plate_metric(Config(dict()))
    assert has_plate_metric(Config(dict(test_evaluator=dict(type='PlateRecogMetric'))))
    assert has_plate_metric(Config.fromfile(osp.join(REPO, 'configs', 'dld_plate.py')))


class CaseFoldingPlateMetric(PlateRecogMetric):
    """A project's plate metric built on DLD's."""


@pytest.fixture
def registered_subclass():
    from dld.registry import METRICS
    METRICS.register_module(name='CaseFoldingPlateMetric', module=CaseFoldingPlateMetric)
    yield 'CaseFoldingPlateMetric'
    METRICS.module_dict.pop('CaseFoldingPlateMetric')


def test_a_subclass_of_the_plate_metric_counts_as_one(registered_subclass):
    from dld.apis.plate_matching import has_plate_metric
    for kind in (registered_subclass, CaseFoldingPlateMetric):
        cfg = Config(dict(test_evaluator=[dict(type='ReadingCostMetric'),
                                          dict(type=kind, case_sensitive=True)]))
        assert has_plate_metric(cfg) and plate_metric_case_sensitive(cfg)
    # a name no registry knows is left to the evaluator's build to name
    assert not has_plate_metric(Config(dict(test_evaluator=dict(type='PlateRecogMetrik'))))
    assert not has_plate_metric(Config(dict(test_evaluator=dict(type='nope.PlateRecogMetric'))))


def test_a_config_without_a_test_evaluator_still_reads_images():
    # Inference needs the model and the test pipeline only; an inference
    # config without an evaluator was read before the drawings compared case.
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'teacher_plate_hr.py'))
    cfg.pop('test_evaluator')
    rec = PlateRecognizer(cfg, None, device='cpu', random_weights=True)
    out = rec([np.full((64, 192, 3), 128, np.uint8)])
    assert out['num_failed'] == 0 and rec.case_sensitive is False


def test_a_reading_counts_as_right_as_the_plate_metric_counts_it():
    from dld.apis.plate_matching import plate_read_right
    from dld.evaluation.metrics import plate_scores
    pairs = [('AB12', 'ab12'), ('AB12', 'AB13'), ('', ''), ('', 'AB12')]
    for case_sensitive in (False, True):
        norm = str if case_sensitive else str.upper
        right = [plate_read_right(p, g, case_sensitive) for g, p in pairs]
        assert sum(right) == plate_scores([(norm(g), norm(p)) for g, p in pairs])['num_correct']
    assert [plate_read_right(p, g, False) for g, p in pairs] == [True, False, False, False]


def test_tracks_vote_with_the_layouts_of_the_config_s_track_metric():
    from types import MethodType, SimpleNamespace

    from dld.apis.plate_matching import track_metric_voting
    assert track_metric_voting(Config(dict(test_evaluator=[
        dict(type='PlateRecogMetric'),
        dict(type='TrackAccuracyMetric', layouts=['mercosur'], vote='chars')]))) == dict(
            layouts=('mercosur', ), vote='chars')
    default = dict(layouts=None, vote='text')
    assert track_metric_voting(Config(dict(test_evaluator=dict(
        type='Evaluator', metrics=[dict(type='dld.TrackAccuracyMetric')])))) == default
    assert track_metric_voting(Config(dict())) == default

    def rec(i, text):
        return dict(track_id='t', frame_idx=i, text=text, confidence=0.5, gflops=1e-3,
                    error=None)
    records = [rec(0, 'ABC1D2'), rec(1, 'ABC1D2'), rec(2, 'ABC1D23')]
    reader = SimpleNamespace(track_voting=dict(layouts=('mercosur', ), vote='text'),
                             case_sensitive=False)
    reader._track_voting = MethodType(PlateRecognizer._track_voting, reader)
    voted = PlateRecognizer.postprocess(reader, records, [], track=True)['tracks']
    assert [(t['text'], t['votes']) for t in voted] == [('ABC1D23', 1)]
    # a call's layouts override the config's; () votes with every reading
    voted = PlateRecognizer.postprocess(reader, records, [], track=True, layouts=())['tracks']
    assert voted[0]['text'] == 'ABC1D2'
    reader.track_voting['layouts'] = None
    assert PlateRecognizer.postprocess(reader, records, [], track=True,
                                       layouts=['LLLNLNN'])['tracks'][0]['text'] == 'ABC1D23'
    # the config's vote, and a call's
    records = [rec(0, 'ABC1D24'), rec(1, 'ABX1D23'), rec(2, 'ABC1D93')]
    assert PlateRecognizer.postprocess(reader, records, [], track=True,
                                       vote='chars')['tracks'][0]['text'] == 'ABC1D23'
    reader.track_voting['vote'] = 'chars'
    (track, ) = PlateRecognizer.postprocess(reader, records, [], track=True)['tracks']
    assert track['text'] == 'ABC1D23' and track['votes'] == 0  # no frame read it whole
    assert track['confidence'] == pytest.approx(0.5 * 6 / 7)


def test_tracks_vote_on_readings_folded_as_the_metric_folds_them():
    from dld.apis import vote_tracks

    def rec(i, text, conf):
        return dict(track_id='t', frame_idx=i, text=text, confidence=conf, gflops=1e-3,
                    error=None)
    records = [rec(0, 'abc1234', 0.9), rec(1, 'abc1234', 0.9), rec(2, 'ABD1234', 0.5)]
    (track, ) = vote_tracks(records, ('brazilian', ))
    # one vote, but the answer is spelt as the model read it
    assert track['text'] == 'abc1234' and track['votes'] == 2
    (track, ) = vote_tracks(records, ('brazilian', ), case_sensitive=True)
    assert track['text'] == 'ABD1234'  # lower case fits no layout, when case counts


def test_a_word_keeps_the_spelling_most_of_its_votes_read():
    from dld.apis import vote_tracks

    def rec(i, text, conf):
        return dict(track_id='t', frame_idx=i, text=text, confidence=conf, gflops=1e-3,
                    error=None)
    records = [rec(0, 'Ocean', 0.6), rec(1, 'ocean', 0.9), rec(2, 'Ocean', 0.5),
               rec(3, 'OCEAN', 0.99), rec(4, 'river', 0.99)]
    (track, ) = vote_tracks(records)
    assert track['text'] == 'Ocean' and track['votes'] == 4
    (track, ) = vote_tracks(records[:2])  # one each: the more confident spelling
    assert track['text'] == 'ocean'
    # a character vote no frame read whole keeps each character's case
    chars = [rec(0, 'aBxd', 0.9), rec(1, 'aXcd', 0.8), rec(2, 'xBcD', 0.7)]
    (track, ) = vote_tracks(chars, vote='chars')
    assert track['text'] == 'aBcd' and track['votes'] == 0


def test_a_config_s_bad_track_vote_fails_when_the_recognizer_is_built():
    from dld.apis.plate_matching import check_track_voting
    with pytest.raises(ValueError, match='brazillian'):
        check_track_voting(('brazillian', ), 'text')
    with pytest.raises(ValueError, match='track vote must be one of'):
        check_track_voting(None, 'char')
    check_track_voting('mercosur', 'chars')
