import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from flops_parts import decoding_parts

from dld.utils import count_flops, count_params, scale_input_shapes


def small_convnet():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))


def test_conv_flops_count_one_multiply_add_as_one_flop():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert count_flops(conv, torch.randn(1, 3, 10, 10)) == 8 * 10 * 10 * 3 * 9


@pytest.mark.parametrize('padding', ['same', 'valid'])
def test_a_convolution_of_string_padding_counts_as_its_numeric_twin(padding):
    """padding='same' traced as aten::_convolution_mode, which fvcore does
    not count: a quarter of a newcomer's student counted 0 FLOPs."""
    named = nn.Conv2d(3, 8, 3, padding=padding)
    numeric = nn.Conv2d(3, 8, 3, padding=1 if padding == 'same' else 0)
    x = torch.zeros(1, 3, 12, 20)
    assert count_flops(named, x) == count_flops(numeric, x) > 0


def test_flops_fall_monotonically_as_the_scale_falls():
    model = small_convnet()
    shapes = scale_input_shapes((48, 144), (1.0, 0.8, 0.6, 0.5, 0.4, 0.3))
    flops = [count_flops(model, torch.randn(1, 3, h, w)) for h, w in shapes]
    assert all(a > b for a, b in zip(flops, flops[1:]))


def test_counting_leaves_training_mode_and_bn_statistics_alone():
    model = small_convnet().train()
    before = model[1].running_mean.clone()
    count_flops(model, torch.randn(2, 3, 16, 16) + 5)
    assert model.training
    assert torch.equal(model[1].running_mean, before)


def test_lstm_and_gru_are_counted_per_weight_matrix_and_step():
    lstm = nn.LSTM(16, 8, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(2, 10, 16)
    # layer 1: 4 gates x 8 x (16 + 8); layer 2 reads 2 x 8 = 16 features; x 2 directions
    per_step = 2 * (4 * 8 * (16 + 8)) + 2 * (4 * 8 * (16 + 8))
    assert count_flops(lstm, x) == 2 * 10 * per_step
    gru = nn.GRU(16, 8, batch_first=True)
    assert count_flops(gru, x) == 2 * 10 * 3 * 8 * (16 + 8)


def test_attention_is_counted_even_for_a_frozen_transformer():
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    x = torch.randn(2, 10, 16)
    trainable = count_flops(layer, x)
    for p in layer.parameters():
        p.requires_grad_(False)
    assert count_flops(layer, x) == trainable
    proj = 2 * 10 * 16 * 16 * 4          # q, k, v and output projections
    attn = (2 * 2) * 10 * 10 * (8 + 8)   # QK^T and AV per head
    ffn = 2 * 10 * 16 * 32 * 2
    norms = 2 * (2 * 10 * 16 * 5)        # fvcore's layer_norm: 5 per element (affine)
    assert trainable == proj + attn + ffn + norms


def test_callables_with_dict_outputs_and_antialiased_resize_are_counted():
    def resize(x):
        return dict(out=F.interpolate(x, size=(5, 15), mode='bilinear', antialias=True))

    assert count_flops(resize, torch.randn(1, 2, 10, 30)) == 4 * 2 * 5 * 15


def test_a_lambda_or_partial_over_a_module_counts_its_weights():
    """A notebook's ``lambda x: model(x)``: the module's weights, which
    require grad, were traced as constants: the tracer refused, printing
    every weight."""
    import functools
    model = small_convnet().train()
    x = torch.randn(1, 3, 16, 16)
    whole = count_flops(model, x)
    assert count_flops(lambda t: model(t), x) == whole                  # closed over
    assert count_flops(functools.partial(model.forward), x) == whole    # a bound method
    assert count_flops(functools.partial(_call, model), x) == whole     # a partial's argument
    assert model.training                                               # and left as it was
    assert count_flops(lambda t: GLOBAL_NET(t), x) == count_flops(GLOBAL_NET, x)  # a global


def test_a_callable_using_weights_it_does_not_name_is_told_so_in_one_line():
    held = dict(net=small_convnet())
    with pytest.raises(TypeError) as err:
        count_flops(lambda t: held['net'](t), torch.randn(1, 3, 16, 16))
    assert 'pass the module, a bound method' in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert len(str(err.value)) < 300  # not the tracer's list of every weight


def _call(module, x):
    return module(x)


GLOBAL_NET = small_convnet()


class PairwiseDistances(nn.Module):
    """An op fvcore has no count for (``aten::cdist``), as a project's may be."""

    def forward(self, x):
        return torch.cdist(x, x)


def test_an_op_nobody_counts_is_named_once_and_a_project_can_count_it(monkeypatch):
    import dld.utils.flops as flops
    logged = []
    monkeypatch.setattr(flops, 'print_log', lambda msg, **kwargs: logged.append(msg))
    flops._warn_uncounted.cache_clear()
    x = torch.randn(2, 5, 4)
    assert count_flops(PairwiseDistances(), x) == 0
    count_flops(PairwiseDistances(), x)
    assert len(logged) == 1 and 'aten::cdist' in logged[0]
    # activations, additions, pooling and flattening are cheap: not reported
    count_flops(small_convnet(), torch.randn(1, 3, 8, 8))
    assert len(logged) == 1

    monkeypatch.setitem(flops.EXTRA_FLOP_HANDLES, 'aten::cdist',
                        lambda inputs, outputs: 2 * 5 * 5 * 4)
    flops._warn_uncounted.cache_clear()
    assert count_flops(PairwiseDistances(), x) == 2 * 5 * 5 * 4
    assert len(logged) == 1


def test_count_params_counts_each_parameter_once():
    linear = nn.Linear(4, 3)
    shared = nn.Sequential(linear, linear)
    assert count_params(shared) == 4 * 3 + 3
    linear.bias.requires_grad_(False)
    assert count_params(shared, trainable_only=True) == 12


def test_inference_params_leave_out_a_training_only_head_but_not_what_it_shares():
    from dld.utils.flops import count_inference_params

    class WithHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(2))
            self.body = nn.Linear(4, 3)
            self.aux_decoder = nn.Sequential(nn.Linear(3, 5), self.body)

    model = WithHead()
    assert count_inference_params(model) == 2 + (4 * 3 + 3)
    assert count_params(model) == 2 + (4 * 3 + 3) + (3 * 5 + 5)
    model.aux_decoder = None
    assert count_inference_params(model) == count_params(model) == 2 + 15


# ---------------------------------------------------------------- beam search
# What a reading costs as the recognizer decodes: the beam search of width W
# against an independent sum of fvcore counts of its parts.

def _recognizer(decoder, **test_cfg):
    from dld.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='TextRecognizer', backbone=dict(type='ResNetPlate', widths=(8, 8, 16, 16)),
        encoder=dict(type='BiLSTMEncoder', hidden_size=16, num_layers=1, dropout=0.0),
        decoder=decoder, test_cfg=test_cfg or None)).eval()


def _costs(recognizer):
    from dld.models.distillers import ScaleCosts
    return ScaleCosts([], (48, 144), [], 0, 0, student=recognizer)


def _parts(recognizer, scale):
    return decoding_parts(recognizer, scale)


ATTENTION_DECODERS = [
    dict(type='AttentionDecoder', cell='gru', d_model=24, max_seq_len=5),
    # d_model != the encoder's width: the memory projection is a real layer
    dict(type='AttentionDecoder', cell='transformer', d_model=24, num_layers=1, num_heads=2,
         max_seq_len=5)]


@pytest.mark.parametrize('decoder', ATTENTION_DECODERS, ids=['gru', 'transformer'])
@pytest.mark.parametrize('scale', [1.0, 0.5])
def test_a_beam_search_runs_the_decoder_on_every_hypothesis(decoder, scale):
    width = 3
    rec = _recognizer(decoder, decode='beam', beam_width=width)
    encoder, greedy, prepare, _ = _parts(rec, scale)
    # backbone, encoder and the memory projection once; every step on W hypotheses
    assert _costs(rec).student_flops_at(scale) == encoder + prepare + width * (greedy - prepare)


@pytest.mark.parametrize('decoder', ATTENTION_DECODERS, ids=['gru', 'transformer'])
def test_greedy_decoding_counts_one_sequence(decoder):
    rec = _recognizer(decoder)
    encoder, greedy, _, _ = _parts(rec, 0.5)
    costs = _costs(rec)
    assert costs.student_flops_at(0.5) == costs.greedy_flops_at(0.5) == encoder + greedy


def test_the_decoding_switched_at_inference_is_what_is_counted():
    from dld.apis import decoding
    rec = _recognizer(ATTENTION_DECODERS[0])
    costs = _costs(rec)
    encoder, greedy, prepare, _ = _parts(rec, 0.5)
    with decoding(rec, beam_width=4):
        assert costs.student_flops_at(0.5) == encoder + prepare + 4 * (greedy - prepare)
    assert costs.student_flops_at(0.5) == encoder + greedy
    with decoding(rec, topk=2):  # the config's width (5), at least k
        assert costs.student_flops_at(0.5) == encoder + prepare + 5 * (greedy - prepare)


def test_a_ctc_beam_search_runs_its_classifier_once():
    """CTC's classifier reads every frame once whatever the width; the search
    adds the product of its prefix merge, ``W x W x classes`` per frame."""
    width = 4
    rec = _recognizer(dict(type='CTCDecoder'), decode='beam', beam_width=width)
    encoder, greedy, _, memory = _parts(rec, 0.5)
    frames, classes = memory.shape[1], rec.decoder.classifier.out_features
    assert _costs(rec).student_flops_at(0.5) == \
        encoder + greedy + frames * width * width * classes


def test_the_selectors_penalty_and_the_reference_stay_greedy():
    from dld.apis.scaled_prediction import RecognizerCosts
    from dld.models.distillers import ScaleCosts
    from dld.registry import MODELS
    rec = _recognizer(ATTENTION_DECODERS[0], decode='beam', beam_width=3)
    teacher = _recognizer(ATTENTION_DECODERS[0])
    selector = MODELS.build(dict(type='ResolutionSelector', channels=(4, 8), scales=[1.0, 0.5]))
    costs = ScaleCosts.measure(rec, teacher, selector, [1.0, 0.5], (48, 144))
    encoder, greedy, _, _ = _parts(rec, 0.5)
    assert costs.student_flops[0.5] == encoder + greedy
    assert costs.relative_flops()[1].item() == pytest.approx(
        (encoder + greedy + costs.selector_flops) / costs.teacher_flops)
    assert costs.student_flops_at(0.5) > costs.student_flops[0.5]
    plain = RecognizerCosts(rec, (48, 144))
    assert plain.teacher_flops == costs.greedy_flops_at(1.0) < plain.student_flops_at(1.0)


def test_the_attention_cells_context_is_counted():
    """The context sum over the memory is a (1, T) x (T, D) product per
    image: written as a broadcast product and a sum it counted 0."""
    from dld.models.decoders.rnn_attention_cell import RNNAttentionCell
    B, T, C, D = 2, 12, 24, 16
    cell = RNNAttentionCell(10, C, d_model=D).eval()

    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, memory, h):
            return self.cell._attend(self.cell.prepare(memory), h)

    # the keys (T x C x D), the query (D x D), the energy (T x D) and the context (T x C)
    expected = B * (T * C * D + D * D + T * D + T * C)
    assert count_flops(Attend(), (torch.randn(B, T, C), torch.randn(B, D))) == expected


def test_a_scale_the_student_cannot_read_is_named_when_its_flops_are_traced():
    from dld.models.distillers import ScaleCosts
    rec = _recognizer(ATTENTION_DECODERS[0])
    big = nn.Conv2d(3, 3, 31)  # outgrows the 14x43 input of scale 0.3

    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            self.big, self.rec = big, rec

        def forward(self, x, mode='tensor'):
            return self.rec(x + self.big(x).mean(), mode=mode)

    from dld.models.distillers.distiller_checks import PartContractError
    with pytest.raises(PartContractError, match=r'The student cannot read scale 0\.3 of '
                       r'\(48, 144\) \(a 14x43 input\).*its layers outgrow an input that '
                       r'small: give model.scales no scale below'):
        ScaleCosts.measure(Student(), rec, None, [1.0, 0.3], (48, 144))


def test_a_student_with_a_string_in_its_state_is_counted():
    """fvcore's tracer refused a Python object in a module's state (the
    message put it down to the scale); the counter runs the module as is."""
    from dld.models.distillers import ScaleCosts
    rec = _recognizer(ATTENTION_DECODERS[0])

    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            self.rec = rec

        def get_extra_state(self):
            return {'name': 'mine'}

        def set_extra_state(self, state):
            pass

        def forward(self, x, mode='tensor'):
            return self.rec(x, mode=mode)

    costs = ScaleCosts.measure(Student(), rec, None, [1.0], (48, 144))
    assert costs.student_flops[1.0] == costs.teacher_flops > 0


def test_a_handle_written_for_fvcore_counts_unchanged(monkeypatch):
    """A project's jit-style handle (fvcore's get_shape on traced values)
    receives values that answer the same calls."""
    from fvcore.nn.jit_handles import get_shape

    import dld.utils.flops as flops

    def cdist(inputs, outputs):
        x1, x2 = get_shape(inputs[0]), get_shape(inputs[1])
        assert inputs[2].toIValue() == 2.0  # p, a constant
        return x1[0] * x1[1] * x2[1] * x1[2]

    monkeypatch.setitem(flops.EXTRA_FLOP_HANDLES, 'aten::cdist', cdist)
    uncounted = set()
    assert count_flops(PairwiseDistances(), torch.randn(2, 50, 4), uncounted) == 2 * 50 * 50 * 4
    assert not uncounted  # counted whole: its aten::_cdist_forward / mm not again


def test_a_pooling_to_one_pixel_counts_as_fvcore_counted_it():
    """adaptive_avg_pool2d to 1x1 reaches the dispatcher as aten::mean."""
    x = torch.randn(2, 3, 8, 8)
    assert count_flops(nn.AdaptiveAvgPool2d(1), x) == x.numel()
    assert count_flops(nn.AdaptiveAvgPool2d((1, 4)), x) == x.numel()
    assert count_flops(lambda t: t.mean((2, 3), keepdim=True), x) == 0


def test_flops_by_module_name_each_submodule():
    from dld.utils.flops import count_flops_by_module
    model = small_convnet()
    by_module = count_flops_by_module(model, torch.randn(1, 3, 8, 8))
    assert by_module['0'] == 8 * 8 * 8 * 3 * 9
    assert by_module[''] == sum(v for k, v in by_module.items() if k and '.' not in k)


def test_a_part_whose_cost_depends_on_the_image_is_said_to():
    """A selector gating on the image's brightness was traced on the all-zero
    image's branch, its cost every report's, without a word (a
    researcher's journey); DLD's own parts trace alike on any image."""
    from dld.models.distillers import ScaleCosts
    rec = _recognizer(ATTENTION_DECODERS[0])

    class GatedSelector(nn.Module):
        def __init__(self):
            super().__init__()
            self.light, self.heavy = nn.Conv2d(3, 2, 1), nn.Conv2d(3, 2, 9, padding=4)
            self.threshold = 0.0

        def forward(self, x):
            return (self.heavy if x.mean() > self.threshold else self.light)(x).mean(dim=(2, 3))

    def measured(selector):
        said = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr('mmengine.logging.print_log', lambda msg, **k: said.append(msg))
            ScaleCosts.measure(rec, rec, selector, [1.0, 0.5], (48, 144))
        return said

    said = measured(GatedSelector())
    assert any('FLOPs of the selector' in s and 'branches on the image' in s for s in said)
    for threshold in (-0.2, -0.7):  # gates noise and the all-zero image both pass
        dark = GatedSelector()
        dark.forward = lambda x, t=threshold, m=dark: (
            m.light if x.mean() < t else m.heavy)(x).mean(dim=(2, 3))
        assert any('FLOPs of the selector' in s for s in measured(dark)), threshold
    bright = GatedSelector()
    bright.threshold = 0.7
    assert any('FLOPs of the selector' in s for s in measured(bright))
    sharp = GatedSelector()  # a sharpness test: the contrast, not the mean
    sharp.forward = lambda x: (sharp.heavy if x.std() > 0.05 else sharp.light)(x).mean(
        dim=(2, 3))
    assert any('FLOPs of the selector' in s for s in measured(sharp))
    assert not any('branches on the image' in s for s in measured(nn.Conv2d(3, 2, 1)))


def test_the_costs_name_the_ops_they_count_as_zero_for_the_reports():
    """A student's op fvcore does not count was said in the log only: the
    report said 96 % saved of a model whose uncounted op cost as much as its
    convolutions (a researcher's journey)."""
    from dld.models.distillers import ScaleCosts
    rec = _recognizer(ATTENTION_DECODERS[0])

    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            self.rec = rec

        def forward(self, x, mode='tensor'):
            flat = x.mean(dim=1).flatten(2) if x.dim() == 4 else x
            return self.rec(x + torch.cdist(flat, flat).mean(), mode=mode)

    for _ in range(2):  # the second from the cache: the ops are kept with the count
        costs = ScaleCosts.measure(Student(), rec, None, [1.0, 0.5], (48, 144))
        assert costs.uncounted_ops == {'aten::cdist'}
    assert ScaleCosts.measure(rec, rec, None, [1.0, 0.5], (48, 144)).uncounted_ops == set()



def test_parts_that_differ_only_in_a_list_or_dict_setting_are_counted_apart():
    """The once-per-process FLOPs cache keyed a part by its repr and its int,
    float, str, bool and tuple attributes: a selector of one's own keeping its
    thumbnail size as the list a config or --cfg-options gives was given the
    first one's cost in a sweep, a notebook or one test worker (a
    contributor's journey: 62232 FLOPs for a 16x48 thumbnail that costs 186648)."""
    from dld.models.distillers import ScaleCosts
    rec = _recognizer(ATTENTION_DECODERS[0])

    class ThumbSelector(nn.Module):
        def __init__(self, thumb, opts):
            super().__init__()
            self.thumb, self.opts = thumb, opts
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            x = F.adaptive_avg_pool2d(x, self.thumb)
            if self.opts['twice']:
                x = self.conv(x)[:, :3]
            return self.fc(self.conv(x).mean(dim=(2, 3)))

    def selector_flops(thumb, opts):
        selector = ThumbSelector(thumb, opts)
        measured = ScaleCosts.measure(rec, rec, selector, [1.0, 0.5], (48, 144)).selector_flops
        assert measured == count_flops(selector, torch.zeros(1, 3, 48, 144))
        return measured

    small = selector_flops([8, 24], dict(twice=False))
    assert selector_flops([16, 48], dict(twice=False)) > small
    assert selector_flops([8, 24], dict(twice=True)) > small
    assert selector_flops([8, 24], dict(twice=False)) == small


def test_a_count_under_inference_mode_is_the_count_outside_it():
    """Under torch.inference_mode the dispatcher hands conv2d, linear and
    batch_norm over whole (no autograd key decomposes them): they counted 0."""
    model = small_convnet()
    x = torch.randn(1, 3, 16, 16)
    expected = count_flops(model, x)
    with torch.inference_mode():
        uncounted = set()
        assert count_flops(model, x, uncounted) == expected > 0
        assert not uncounted
        inplace = torch.randn(1, 3, 16, 16)  # an inference tensor changed in place
        assert count_flops(lambda t: model(t.sub_(0.5)), inplace) == expected


def test_a_handle_that_counts_a_part_is_not_counted_twice(monkeypatch):
    """A handle calling count_flops ran the part under the outer counter
    too: refused as foreign weights, or counted twice."""
    import dld.utils.flops as flops
    part = nn.Linear(4, 4)
    monkeypatch.setitem(flops.EXTRA_FLOP_HANDLES, 'aten::cdist',
                        lambda inputs, outputs: count_flops(part, torch.randn(3, 4)))
    assert count_flops(PairwiseDistances(), torch.randn(2, 5, 4)) == 3 * 4 * 4

    class Owner(nn.Module):
        def __init__(self):
            super().__init__()
            self.part = part

        def forward(self, x):
            return torch.cdist(x, x) + self.part(x).sum()

    assert count_flops(Owner(), torch.randn(3, 4)) == 2 * 3 * 4 * 4


def test_counts_in_threads_keep_their_modules_apart():
    import threading

    from dld.utils.flops import count_flops_by_module
    model, other = small_convnet(), nn.Sequential(nn.Linear(16, 16), nn.Linear(16, 16))
    x = torch.randn(1, 3, 16, 16)
    expected, wrong = count_flops_by_module(model, x), []

    def count():
        for _ in range(10):
            if count_flops_by_module(model, x) != expected:
                wrong.append(1)

    def run_other():  # a model running meanwhile, not counted
        with torch.no_grad():
            for _ in range(200):
                other(torch.randn(4, 16))

    threads = [threading.Thread(target=count), threading.Thread(target=count),
               threading.Thread(target=run_other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


@pytest.mark.parametrize('model, x', [
    (nn.AdaptiveAvgPool2d(1), torch.randn(2, 3, 8, 8).to(memory_format=torch.channels_last)),
    (nn.DataParallel(nn.Conv2d(3, 4, 3)), torch.randn(1, 3, 8, 8)),  # record_function
    (lambda t: t.roll(1, -1), torch.randn(2, 8))])
def test_cheap_ops_raise_no_false_alarm(model, x):
    uncounted = set()
    count_flops(model, x, uncounted)
    assert not uncounted


def test_an_rms_norm_counts_as_a_layer_norm():
    """nn.RMSNorm decomposes into pow, mean, rsqrt and mul: 0, unsaid."""
    x = torch.randn(2, 5, 8)
    assert count_flops(nn.RMSNorm(8), x) == count_flops(nn.LayerNorm(8), x) == x.numel() * 5
    assert count_flops(nn.RMSNorm(8, elementwise_affine=False), x) == x.numel() * 4


def test_a_handle_written_for_fvcore_s_custom_functions_is_said_not_used(monkeypatch):
    """fvcore counted a custom autograd Function as prim::PythonOp.<Name>:
    such a handle stopped every count (the distiller's build said the student
    "cannot read scale 1.0"); here the Function's own ops are counted."""
    from unittest import mock

    from dld.utils import flops
    monkeypatch.setitem(flops.EXTRA_FLOP_HANDLES, 'prim::PythonOp.RoundSTE', lambda i, o: 0)
    with mock.patch.object(flops, 'print_log') as log:
        assert flops.count_flops(torch.nn.Linear(2, 3), torch.zeros(1, 2)) == 6
    assert "'prim::PythonOp.RoundSTE' name(s) no ATen operator" in log.call_args.args[0]


def test_the_figures_convention_names_the_counter_in_use(monkeypatch):
    """DLD_FLOP_COUNTER=fvcore's report said its FLOPs were counted 'by ATen
    operator as the model runs' (a fixed string), and recorded no counter."""
    from dld.apis.flops_accuracy import convention
    from dld.models.distillers.scale_costs import convention as costs_convention
    from dld.utils.flops import flop_counter
    monkeypatch.setenv('DLD_FLOP_COUNTER', 'fvcore')
    assert flop_counter() == 'fvcore'
    for said in (convention(), costs_convention()):
        assert "fvcore's TorchScript trace" in said and 'ATen operator' not in said
    monkeypatch.delenv('DLD_FLOP_COUNTER')
    assert flop_counter() == 'dispatch'
    for said in (convention(), costs_convention()):
        assert 'by ATen operator as the model runs' in said and 'trace' not in said


def test_a_mistyped_flop_counter_is_said_as_it_is_not_as_the_student_s_fault(monkeypatch):
    """DLD_FLOP_COUNTER=trace stopped get_flops.py, infer.py, flops_accuracy.py
    and train.py with 'The student cannot read scale 1.0 of (48, 144) ... it
    must also run on an all-zero image of that size'."""
    from dld.models.distillers import ScaleCosts
    rec = _recognizer(ATTENTION_DECODERS[0])
    monkeypatch.setenv('DLD_FLOP_COUNTER', 'trace')
    with pytest.raises(ValueError, match=r"^DLD_FLOP_COUNTER='trace': one of dispatch, fvcore"):
        ScaleCosts.measure(rec, rec, None, [1.0], (48, 144))


def _docs_cdist(inputs, outputs):
    """docs/customize.md's handle: ``.shape`` of a tensor, ``.value`` of any."""
    assert inputs[2].value == 2.0  # p
    x1, x2 = inputs[0].shape, inputs[1].shape
    return x1[0] * x1[1] * x2[1] * x1[2]


@pytest.mark.parametrize('counter', ['dispatch', 'fvcore'])
def test_a_handle_written_as_the_docs_write_it_counts_under_either_counter(monkeypatch,
                                                                           counter):
    """Under DLD_FLOP_COUNTER=fvcore, which docs/customize.md offers to check
    a figure against, the docs' handle got fvcore's traced values: get_flops.py
    stopped with "The student cannot read scale 1.0 ... AttributeError:
    'torch._C.Value' object has no attribute 'shape'. ... its layers outgrow
    an input that small" (an extender's journey)."""
    import dld.utils.flops as flops
    monkeypatch.setenv('DLD_FLOP_COUNTER', counter)
    monkeypatch.setitem(flops.EXTRA_FLOP_HANDLES, 'aten::cdist', _docs_cdist)
    uncounted = set()
    assert count_flops(PairwiseDistances(), torch.randn(2, 50, 4), uncounted) == 2 * 50 * 50 * 4
    assert not uncounted


@pytest.mark.parametrize('counter', ['dispatch', 'fvcore'])
def test_a_handle_that_raises_is_named_not_blamed_on_the_student(monkeypatch, counter):
    """A project's handle with a bug stopped every tool with "The student
    cannot read scale 1.0 of (48, 144) ... TypeError: 'NoneType' object is
    not subscriptable. ... it must also run on an all-zero image of that
    size": the handle, its op and its line were not named."""
    import dld.utils.flops as flops
    from dld.models.distillers import ScaleCosts
    from dld.utils.flop_counter import FlopHandleError
    rec = _recognizer(ATTENTION_DECODERS[0])

    def buggy_cdist(inputs, outputs):
        return inputs[0].shape[0] * inputs[3].shape[1]  # compute_mode: None, no shape

    class CdistReadingStudent(nn.Module):
        def __init__(self):
            super().__init__()
            self.rec = rec

        def forward(self, x, mode='tensor'):
            flat = x.mean(dim=1).flatten(2) if x.dim() == 4 else x
            return self.rec(x + torch.cdist(flat, flat, p=2.0).mean(), mode=mode)

    monkeypatch.setenv('DLD_FLOP_COUNTER', counter)
    monkeypatch.setitem(flops.EXTRA_FLOP_HANDLES, 'aten::cdist', buggy_cdist)
    with pytest.raises(FlopHandleError) as err:
        count_flops(PairwiseDistances(), torch.randn(2, 5, 4))
    line = buggy_cdist.__code__.co_firstlineno + 1
    said = str(err.value)
    assert 'aten::cdist' in said and 'buggy_cdist' in said and f'test_flops.py:{line}' in said
    assert 'TypeError' in said
    with pytest.raises(FlopHandleError, match='buggy_cdist') as err:
        ScaleCosts.measure(CdistReadingStudent(), rec, None, [1.0, 0.45], (48, 144))
    assert 'cannot read scale' not in str(err.value)
