"""The tiny run that the inference and report tests share reads some test
plates and misses others, at every scale, and its selector chooses more
than one scale: their comparisons then compare readings, not 0 with 0 (the
models of a few seconds' training read none), and a selector that sends
every image to one scale would hide a mix-up of scale indices. Shipped
weights retrained badly fail here first."""
import pytest
from mmengine.runner import Runner
from tiny_dld import SCALES, evaluate_test_set

from dld.apis.model_loading import init_model


def _plate_accuracy(config: str, checkpoint: str, **test_cfg) -> float:
    return evaluate_test_set(config, checkpoint, **test_cfg)['plate/accuracy']


@pytest.mark.slow
def test_the_tiny_students_read_some_plates_but_not_all(tiny_run):
    per_scale = [_plate_accuracy(tiny_run['config'], tiny_run['student'], force_scale=s)
                 for s in SCALES]
    assert all(0 < acc < 1 for acc in per_scale), per_scale
    assert len(set(per_scale)) > 1, 'every scale reads alike: per-scale comparisons cannot bite'
    baseline = _plate_accuracy(tiny_run['baseline_config'], tiny_run['baseline'])
    assert 0 < baseline < 1


@pytest.mark.slow
def test_the_tiny_selector_chooses_more_than_one_scale(tiny_run):
    model, cfg = init_model(tiny_run['config'], tiny_run['student'])
    chosen = {s.pred_scale for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0)
              for s in model.test_step(batch)}
    assert len(chosen) > 1, chosen


@pytest.mark.slow
def test_each_image_is_read_at_the_scale_its_selector_logits_pick(tiny_run):
    model, cfg = init_model(tiny_run['config'], tiny_run['student'])
    for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
        data = model.data_preprocessor(batch, False)
        best = model.selector_logits(data['inputs']).argmax(dim=1).tolist()
        read = [s.pred_scale for s in model.test_step(batch)]
        assert read == [model.scales[i] for i in best]
