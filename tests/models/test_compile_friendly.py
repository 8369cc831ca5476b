"""Host-side decisions made in Python rather than on tensors (no host sync,
no torch.compile graph break), with the same results; what `compile` says."""
import random

import pytest
import torch
from log_records import current_log_records
from mmengine.config import Config

from dld.engine.runner_settings import warn_of_compile
from dld.models.decoders.padded_memory import content_mask, content_steps


@pytest.mark.parametrize('length', [1, 2, 7, 45, 58, 104, 199])
def test_content_mask_none_exactly_where_every_step_shows_the_image(length):
    rng = random.Random(length)
    ratios = [rng.random() * 1.2 for _ in range(200)] + [
        1.0, 1 - 1e-7, (length - 1) / length, (length - 1) / length + 1e-9,
        float('nan'), float('inf'), -float('inf'), 0.0, -0.5, 2.0]
    for r in ratios:
        every = bool(content_steps(torch.as_tensor([r]), length)[0] >= length)
        assert (content_mask([r], length) is None) == every, (r, length)


def test_compile_is_said_to_slow_training_and_to_do_nothing_in_a_test():
    with current_log_records() as records:
        warn_of_compile(Config(dict(compile=False)))
        assert not records
        warn_of_compile(Config(dict(compile=True)))
        warn_of_compile(Config(dict(compile=dict(backend='eager'))), training=False)
    text = ' '.join(r.getMessage() for r in records)
    assert 'recompiles' in text and 'runs eagerly' in text


def test_flops_of_a_compiled_module_are_its_own_without_a_warning(recwarn):
    from dld.utils.flops import count_flops
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(5))
    x = torch.randn(2, 3, 8, 8)
    m(x)
    eager = count_flops(m, x)
    assert count_flops(torch.compile(m, backend='eager'), x) == eager
    assert not [w for w in recwarn if 'global hooks' in str(w.message)]


@pytest.mark.parametrize('default', [torch.float64, torch.float32])
def test_content_mask_decides_in_the_default_dtype_as_its_steps_do(default):
    """Under torch.set_default_dtype(torch.float64) the ratios' tensor is
    float64: the decision, taken in float32, gave None (no mask) for a ratio
    whose last step shows padding (0.990384625 of 104 steps: 103)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(default)
    try:
        for length in (45, 58, 104):
            edge = (length - 1 + 1e-6) / length
            for k in range(-300, 301):
                r = edge + k * 1e-9
                every = bool(content_steps(torch.as_tensor([r]), length)[0] >= length)
                assert (content_mask([r], length) is None) == every, (r, length)
    finally:
        torch.set_default_dtype(before)
