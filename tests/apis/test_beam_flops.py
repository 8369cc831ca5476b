"""What inference reports a reading costs when it decodes with a beam search:
the student's decoder on every hypothesis, against fvcore on the parts."""
import numpy as np
import pytest
import torch
from attention_dld import beam_flops_by_parts, make_attention_dld

from dld.apis import PlateRecognizer
from dld.models.distillers import scale_costs


@pytest.fixture(scope='module')
def recognizer(tmp_path_factory):
    paths = make_attention_dld(str(tmp_path_factory.mktemp('attention_dld')))
    return PlateRecognizer(paths['config'], paths['checkpoint'], device='cpu')


def _images(n=3):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (30 + 7 * i, 100 + 11 * i, 3), dtype=np.uint8)
            for i in range(n)]


def _flops(record) -> float:
    return record['gflops'] * 1e9


@pytest.mark.parametrize('scale', [1.0, 0.4])
def test_a_forced_scale_counts_the_beam_it_reads_with(recognizer, scale):
    student = recognizer.model.student
    out = recognizer(_images(), scale=scale, beam_width=3)
    assert out['num_failed'] == 0
    expected = beam_flops_by_parts(student, scale, 3)
    assert all(_flops(r) == pytest.approx(expected, rel=1e-12) for r in out['predictions'])
    greedy = recognizer(_images(), scale=scale, beam_width=1)['predictions']
    expected = beam_flops_by_parts(student, scale, 1)
    assert all(_flops(r) == pytest.approx(expected, rel=1e-12) for r in greedy)


@pytest.mark.slow
def test_the_selector_and_the_beam_are_both_counted(recognizer):
    model = recognizer.model
    for rec in recognizer(_images(), beam_width=3)['predictions']:
        expected = model.costs.selector_flops + beam_flops_by_parts(model.student,
                                                                    rec['scale'], 3)
        assert _flops(rec) == pytest.approx(expected, rel=1e-12)
        # the reference is the teacher decoding greedily, whatever the student does
        assert rec['gflops_teacher'] == pytest.approx(model.costs.teacher_flops / 1e9)
        assert rec['gflops_saved'] == pytest.approx(rec['gflops_teacher'] - rec['gflops'])


def test_a_config_that_decodes_with_a_beam_is_counted_with_it(tmp_path):
    paths = make_attention_dld(str(tmp_path), dict(decode='beam', beam_width=2))
    rec = PlateRecognizer(paths['config'], paths['checkpoint'], device='cpu')
    got = rec(_images(1), scale=0.6)['predictions'][0]
    assert _flops(got) == pytest.approx(beam_flops_by_parts(rec.model.student, 0.6, 2),
                                        rel=1e-12)


@pytest.mark.slow
def test_mixed_precision_counts_the_same_beam(tmp_path, monkeypatch):
    """A beam's cost is traced on first use, here under bfloat16 autocast."""
    from dld.apis import plate_recognizer
    monkeypatch.setattr(plate_recognizer, 'resolve_amp', lambda device_type, amp: torch.bfloat16)
    monkeypatch.setattr(scale_costs, '_FLOPS_CACHE', {})
    paths = make_attention_dld(str(tmp_path))
    rec = PlateRecognizer(paths['config'], paths['checkpoint'], device='cpu', amp=True)
    assert rec.amp_dtype == torch.bfloat16
    got = rec(_images(2), scale=0.6, beam_width=3)['predictions']
    expected = beam_flops_by_parts(rec.model.student, 0.6, 3)
    assert all(_flops(r) == pytest.approx(expected, rel=1e-12) for r in got)


@pytest.mark.slow
def test_mixed_precision_reads_a_scale_that_is_no_candidate(tmp_path, monkeypatch):
    """``--amp --scale 0.7``: the cost of a scale the distiller did not measure
    when built is traced mid-inference, under autocast; that used to fail the
    batch and then every image of it."""
    from dld.apis import plate_recognizer
    monkeypatch.setattr(plate_recognizer, 'resolve_amp', lambda device_type, amp: torch.bfloat16)
    monkeypatch.setattr(scale_costs, '_FLOPS_CACHE', {})
    paths = make_attention_dld(str(tmp_path))
    rec = PlateRecognizer(paths['config'], paths['checkpoint'], device='cpu', amp=True)
    out = rec(_images(2), scale=0.7)
    assert out['num_failed'] == 0
    expected = beam_flops_by_parts(rec.model.student, 0.7, 1)
    assert all(_flops(r) == pytest.approx(expected, rel=1e-12) for r in out['predictions'])
