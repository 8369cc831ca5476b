"""The FLOPs/accuracy report of a student and a teacher that decode with a beam
search: each row counts its beam, against fvcore on the parts; no beam is
traced inside a timed batch."""
import pytest
import torch
import torch.nn.functional as F
from attention_dld import beam_flops_by_parts, make_attention_dld
from mmengine.config import Config

from dld.apis.flops_accuracy import FlopsAccuracyEvaluator

pytestmark = pytest.mark.slow


def _pin_selector(model):
    """The first two calls (the untimed warm-up and the first timed batch) send
    every image to 1.0; later batches spread their images over every scale, so
    scales are first chosen inside a timed batch."""
    calls = []

    def select_from_logits(logits):  # where predict's choices come from
        calls.append(1)
        if len(calls) <= 2:
            chosen = torch.zeros(len(logits), dtype=torch.long, device=logits.device)
        else:
            chosen = torch.arange(len(logits), device=logits.device) % len(model.scales)
        return F.one_hot(chosen, len(model.scales)).float(), chosen

    model.select_from_logits = select_from_logits


@pytest.fixture(scope='module')
def beam_report(tiny_run, tmp_path_factory):
    from _pytest.monkeypatch import MonkeyPatch

    from dld.apis import flops_accuracy
    from dld.models.distillers import scale_costs
    files = make_attention_dld(str(tmp_path_factory.mktemp('beam_report')),
                               student_test_cfg=dict(decode='beam', beam_width=2),
                               teacher_test_cfg=dict(decode='beam', beam_width=3),
                               data_root=tiny_run['data'])
    cfg = Config.fromfile(files['config'])
    cfg.test_dataloader.batch_size = 4
    evaluator = FlopsAccuracyEvaluator(cfg, files['full'], scales=[1.0], device='cpu')
    _pin_selector(evaluator.model)
    perf_calls, traced_while_timing = [], []
    real_perf_counter, real_count = flops_accuracy.time.perf_counter, scale_costs._count

    def perf_counter():
        perf_calls.append(1)
        return real_perf_counter()

    def count(module, shape, *args):  # start and stop alternate: odd calls start a timing
        traced_while_timing.append(len(perf_calls) % 2 == 1)
        return real_count(module, shape, *args)

    patch = MonkeyPatch()
    patch.setattr(flops_accuracy.time, 'perf_counter', perf_counter)
    patch.setattr(scale_costs, '_count', count)
    patch.setattr(scale_costs, '_FLOPS_CACHE', {})
    try:
        rep = evaluator.evaluate()
    finally:
        patch.undo()
    return rep, evaluator.model, traced_while_timing


def _rows(rep):
    return {r['method']: r for r in rep['methods']}


def test_every_row_counts_its_models_beam(beam_report):
    rep, model, _ = beam_report
    rows = _rows(rep)
    student, teacher = model.student, model.teacher
    assert rows['dld@1']['gflops'] * 1e9 == pytest.approx(
        beam_flops_by_parts(student, 1.0, 2), rel=1e-12)
    assert rows['teacher_hr']['gflops'] * 1e9 == pytest.approx(
        beam_flops_by_parts(teacher, 1.0, 3), rel=1e-12)
    # "saved" compares with the teacher decoding greedily
    assert rep['teacher_gflops'] * 1e9 == pytest.approx(
        beam_flops_by_parts(teacher, 1.0, 1), rel=1e-12)
    assert rows['teacher_hr']['gflops_saved_pct'] < 0
    hist = rep['scale_histogram']['dld_selector']
    assert len([s for s, n in hist.items() if n]) == len(model.scales)
    mean = sum(n * (model.costs.selector_flops + beam_flops_by_parts(student, float(s), 2))
               for s, n in hist.items()) / sum(hist.values())
    assert rows['dld_selector']['gflops'] * 1e9 == pytest.approx(mean, rel=1e-12)
    assert rep['decoding'] == dict(student='beam search of width 2',
                                   teacher='beam search of width 3', baseline=None)


def test_no_beam_is_traced_inside_a_timed_batch(beam_report):
    _, _, traced_while_timing = beam_report
    assert traced_while_timing and not any(traced_while_timing)
