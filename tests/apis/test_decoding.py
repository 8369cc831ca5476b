"""decoding(): what beam_width and topk switch a recognizer to, and what they refuse."""
import pytest
from mmengine.registry import init_default_scope
from tiny_dld import recognizer_cfg

from dld.apis.scaled_prediction import check_decoding, decoding

#: A recognizer's test_cfg decoding by beam search (FLOPs not counted)
BEAM = dict(count_flops=False, decode='beam')


@pytest.fixture
def beam_recognizer():
    """A recognizer whose config decodes with a beam of 4 and returns 3 texts."""
    init_default_scope('dld')
    from dld.registry import MODELS
    return MODELS.build(dict(recognizer_cfg(8),
                             test_cfg=dict(decode='beam', beam_width=4, topk=3)))


def test_beam_width_one_is_greedy_even_when_the_config_beams(beam_recognizer):
    with decoding(beam_recognizer, beam_width=1):
        assert beam_recognizer.test_cfg['decode'] == 'greedy'
        assert beam_recognizer.test_cfg['topk'] == 1
    assert beam_recognizer.test_cfg == dict(BEAM, beam_width=4, topk=3)


def test_beam_width_above_one_sets_that_width(beam_recognizer):
    with decoding(beam_recognizer, beam_width=6, topk=2):
        assert beam_recognizer.test_cfg == dict(BEAM, beam_width=6, topk=2)


def test_topk_one_returns_one_text_with_the_configs_decoding(beam_recognizer):
    with decoding(beam_recognizer, topk=1):
        assert beam_recognizer.test_cfg == dict(BEAM, beam_width=4, topk=1)


def test_topk_above_the_configs_width_widens_the_beam(beam_recognizer):
    with decoding(beam_recognizer, topk=5):
        assert beam_recognizer.test_cfg == dict(BEAM, beam_width=5, topk=5)


def test_nothing_given_leaves_the_config(beam_recognizer):
    with decoding(beam_recognizer):
        assert beam_recognizer.test_cfg == dict(BEAM, beam_width=4, topk=3)


@pytest.mark.parametrize('kwargs', [
    dict(beam_width=0), dict(topk=0), dict(topk=-1), dict(beam_width=-2),
    dict(beam_width=2.5), dict(topk=True), dict(beam_width=2, topk=3),
    dict(beam_width=65), dict(topk=3000)])  # a beam of 3000 took 1.2 GB for one image
def test_bad_decoding_arguments_are_refused(beam_recognizer, kwargs):
    with pytest.raises(ValueError, match='beam_width|topk'):
        check_decoding(**kwargs)
    with pytest.raises(ValueError, match='beam_width|topk'):
        with decoding(beam_recognizer, **kwargs):
            pass
    assert beam_recognizer.test_cfg == dict(BEAM, beam_width=4, topk=3)


def test_a_distiller_switches_its_students_decoding():
    """Given the distiller (whose own test_cfg holds its scales, not a
    decoding), the switch did nothing, without a word."""
    init_default_scope('dld')
    from tiny_dld import dld_config

    from dld.registry import MODELS
    model = MODELS.build(dld_config('unused')['model'])
    own, students = dict(model.test_cfg), dict(model.student.test_cfg)
    with decoding(model, beam_width=3, topk=2):
        assert model.student.test_cfg == dict(students, decode='beam', beam_width=3, topk=2)
        assert model.test_cfg == own
    assert model.student.test_cfg == students
