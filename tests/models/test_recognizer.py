"""TextRecognizer honours the API of docs/architecture.md for both decoders."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from dld.registry import MODELS
from dld.structures.plate_data_sample import PlateDataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'ctc': 'configs/_base_/models/recognizer_ctc.py',
    'attn': 'configs/_base_/models/recognizer_attn.py',
}
SCALES = [1.0, 0.6, 0.3]


def build(kind: str, aux_decoder=None, **test_cfg):
    """The base config with small widths and no data preprocessor."""
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[kind])).model
    cfg.aux_decoder = aux_decoder
    cfg.data_preprocessor = None
    cfg.backbone.widths = (8, 16, 16, 32)
    cfg.encoder.update(d_model=32, num_layers=1, num_heads=2)
    if kind == 'attn':
        cfg.decoder.update(d_model=32, num_layers=1, num_heads=2)
    cfg.test_cfg.update(test_cfg)
    torch.manual_seed(0)
    return MODELS.build(cfg.to_dict()).eval()


def images(scale: float, n: int = 2):
    return torch.randn(n, 3, round(48 * scale), round(144 * scale))


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
@pytest.mark.parametrize('scale', SCALES)
def test_forward_features_shapes_at_every_scale(kind, scale):
    model = build(kind)
    x = images(scale)
    feats = model.forward_features(x)
    T = -(-x.shape[-1] // 4)
    assert feats['backbone_out'].shape == (2, 32, -(-x.shape[-2] // 8), T)
    assert feats['encoder_out'].shape == (2, T, 32)
    if kind == 'ctc':
        assert feats['logits'].shape == (2, T, 37) and feats['decoder_hidden'] is None
    else:
        assert feats['logits'].shape == (2, 8, 37)
        assert feats['decoder_hidden'].shape == (2, 8, 32)
    assert torch.equal(model.extract_feat(x), feats['backbone_out'])
    assert torch.equal(model(x, mode='tensor'), feats['logits'])


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
def test_feat_mode_teacher_forces_on_gt_text(kind):
    model = build(kind)
    x = images(1.0)
    samples = [PlateDataSample(gt_text='ab12'), PlateDataSample(gt_text='XYZ9876')]
    feats = model(x, samples, mode='feat')
    targets = model.encode_targets(['AB12', 'XYZ9876'])
    expected = model.forward_features(x, targets)
    assert torch.allclose(feats['logits'], expected['logits'])


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
def test_forward_sequences_reads_each_target_from_its_image(kind):
    model = build(kind).eval()
    x = images(0.6, n=2)
    targets = model.encode_targets(['A1', 'B22C', '7', 'A1'])
    rows = torch.tensor([0, 1, 1, 1])
    out = model.forward_sequences(x, targets, rows)
    enc = model.encoder(model.extract_feat(x))
    expected = model.sequence_nll(enc[rows], targets)
    assert out['nll'].shape == (4,) and out['encoder_out'].shape[0] == 2
    torch.testing.assert_close(out['nll'], expected)
    assert out['nll'][0] != out['nll'][3]  # the same text read from two images


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
def test_sequence_nll_agrees_with_the_module_loss(kind):
    model = build(kind)
    x = images(0.6, n=3)
    texts = ['A1', 'B22C', '7']
    targets = model.encode_targets(texts)
    enc = model.encoder(model.extract_feat(x))
    nll = model.sequence_nll(enc, targets)
    assert nll.shape == (3,) and (nll > 0).all()
    losses = model(x, [PlateDataSample(gt_text=t) for t in texts], mode='loss')
    if kind == 'ctc':
        assert losses['loss_ctc'].item() == pytest.approx(nll.mean().item(), rel=1e-5)
    else:
        tokens = sum(len(t) + 1 for t in targets)  # characters + EOS
        assert losses['loss_ce'].item() == pytest.approx(nll.sum().item() / tokens, rel=1e-5)


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
def test_loss_ignores_inputs_hr_and_backpropagates(kind):
    model = build(kind).train()
    x = images(0.3)
    samples = [PlateDataSample(gt_text='AB1'), PlateDataSample(gt_text='C2')]
    losses = model(x, samples, mode='loss', inputs_hr=images(1.0))
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.stem[0].weight.grad is not None


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
@pytest.mark.parametrize('decode', ['greedy', 'beam'])
def test_predict_fills_text_and_a_probability(kind, decode):
    model = build(kind, decode=decode)
    samples = model(images(0.6), [PlateDataSample(), PlateDataSample()], mode='predict')
    for s in samples:
        assert isinstance(s.pred_text, str)
        assert 0.0 <= s.pred_score <= 1.0
        assert 'pred_topk' not in s


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
def test_predict_topk_is_sorted_and_consistent_with_pred_score(kind):
    model = build(kind, decode='beam', beam_width=6, topk=3)
    samples = model.predict(images(1.0))
    for s in samples:
        assert len(s.pred_topk) == 3
        logps = [lp for _, lp in s.pred_topk]
        assert logps == sorted(logps, reverse=True)
        assert s.pred_topk[0][0] == s.pred_text
        assert s.pred_score == pytest.approx(torch.tensor(logps[0]).exp().item(), rel=1e-5)


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
def test_beam_search_scores_are_sequence_log_probabilities(kind):
    model = build(kind, decode='beam', beam_width=4, topk=2)
    x = images(0.3)
    seqs, scores = model.beam_search(x)
    assert len(seqs) == 2 and all(len(s) == 2 for s in seqs) and scores.shape == (2, 2)
    enc = model.encoder(model.extract_feat(x))
    best = [s[0] for s in seqs]
    assert scores[:, 0].tolist() == pytest.approx((-model.sequence_nll(enc, best)).tolist(),
                                                  abs=1e-4)
    seqs, scores = model.beam_search(x, beam_width=5, topk=4)
    assert scores.shape == (2, 4)


def test_test_cfg_mistakes_fail_loudly():
    with pytest.raises(KeyError, match='unknown key'):
        build('ctc', beam=3)
    with pytest.raises(ValueError, match="needs decode='beam'"):
        build('ctc', topk=3)
    with pytest.raises(ValueError, match='mode must be'):
        build('ctc')(images(1.0), mode='logits')


def test_encode_targets_uses_the_decoder_dictionary():
    model = build('ctc')
    assert model.encode_targets(['a0', 'Z']) == [[10, 0], [35]]


def test_every_recognizer_part_builds_from_a_config():
    from dld.models.dictionary import Dictionary
    ctc_dict = Dictionary(with_blank=True)
    attn_dict = Dictionary(with_start_end=True, with_padding=True)
    cfgs = [
        dict(type='ResNetPlate'),
        dict(type='HeightPooling', in_channels=8, mode='attn'),
        dict(type='SinusoidalPositionalEncoding', d_model=8),
        dict(type='TransformerEncoder', in_channels=8),
        dict(type='BiLSTMEncoder', in_channels=8),
        dict(type='CTCDecoder', in_channels=8),
        dict(type='AttentionDecoder', in_channels=8),
        dict(type='TransformerDecoderCell', num_embeddings=5, in_channels=8, d_model=8,
             num_heads=2),
        dict(type='RNNAttentionCell', num_embeddings=5, in_channels=8, d_model=8, rnn='lstm'),
        dict(type='CTCModuleLoss', dictionary=ctc_dict),
        dict(type='CEModuleLoss', dictionary=attn_dict),
        dict(type='BasePostProcessor', dictionary=ctc_dict),
        dict(type='CTCPostProcessor', dictionary=ctc_dict),
        dict(type='AttentionPostProcessor', dictionary=attn_dict),
    ]
    for cfg in cfgs:
        assert type(MODELS.build(cfg)).__name__ == cfg['type']
    assert type(build('attn')).__name__ == 'TextRecognizer'



AUX_CTC = dict(type='CTCDecoder', module_loss=dict(type='CTCModuleLoss', loss_weight=0.5))


def test_auxiliary_ctc_head_adds_its_weighted_loss_and_trains_the_encoder():
    model, plain = build('attn', aux_decoder=AUX_CTC), build('attn')  # eval: no dropout
    texts = ['AB1', 'C2']
    samples = [PlateDataSample(gt_text=t) for t in texts]
    x = images(1.0)
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_ce', 'aux_loss_ctc'}
    torch.testing.assert_close(losses['loss_ce'], plain(x, samples, mode='loss')['loss_ce'])
    encoder_out = model.encoder(model.extract_feat(x))
    ctc_nll = model.aux_decoder.sequence_nll(encoder_out, model.encode_targets(texts))
    torch.testing.assert_close(losses['aux_loss_ctc'], 0.5 * ctc_nll.mean())
    losses['aux_loss_ctc'].backward()
    assert model.aux_decoder.classifier.weight.grad.abs().sum() > 0
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert model.decoder.classifier.weight.grad is None


def test_auxiliary_head_is_training_only_and_left_out_of_plain_loads():
    model, plain = build('attn', aux_decoder=AUX_CTC), build('attn')
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    state = model.state_dict()
    assert any(k.startswith('aux_decoder.') for k in state)
    plain.load_state_dict(state)  # strict: the head's weights are dropped
    x = images(0.6)
    torch.testing.assert_close(plain(x), model(x))
    got = [s.pred_text for s in plain.predict(x)]
    assert got == [s.pred_text for s in model.predict(x)]
    with pytest.raises(RuntimeError, match='aux_decoder'):
        model.load_state_dict(plain.state_dict())  # a head to train, not to invent


def test_auxiliary_head_must_share_the_decoder_characters():
    with pytest.raises(ValueError, match='same order'):
        build('attn', aux_decoder=dict(AUX_CTC, dictionary=dict(type='Dictionary',
                                                               chars='0123456789')))


def tiny_recognizer(decoder: dict, **kw):
    return MODELS.build(dict(
        type='TextRecognizer', backbone=dict(type='ResNetPlate', widths=(8, 8, 8, 8)),
        encoder=dict(type='TransformerEncoder', d_model=16, num_layers=0, num_heads=2),
        decoder=decoder, **kw))


def test_auxiliary_head_reads_a_case_sensitive_dictionary_as_the_decoder_does():
    decoder = dict(type='AttentionDecoder', cell='gru', d_model=16,
                   dictionary=dict(type='Dictionary', chars='aA0', case_sensitive=True))
    model = tiny_recognizer(decoder, aux_decoder=dict(type='CTCDecoder'))
    aux = model.aux_decoder.dictionary
    assert aux.case_sensitive and aux.dict[:aux.num_chars] == ['a', 'A', '0']
    assert aux.str2idx('Aa') == model.dictionary.str2idx('Aa') == [1, 0]


@pytest.mark.parametrize('key', ['beam_width', 'topk'])
@pytest.mark.parametrize('value', [0, -2, 1.5])
def test_test_cfg_widths_below_one_are_refused_not_replaced(key, value):
    with pytest.raises(ValueError, match=f'test_cfg.{key} must be an int >= 1'):
        tiny_recognizer(dict(type='CTCDecoder'), test_cfg=dict(decode='beam', **{key: value}))


@pytest.mark.parametrize('kind', ['ctc', 'attn'])
def test_a_padded_frame_is_read_as_its_content_alone(kind):
    """ResizePair pads an LR frame on the right to its valid_ratio: the
    attention decoder reads only the memory steps that show the plate, in
    training and in prediction alike (a CTC decoder emits blanks there)."""
    model = build(kind)
    x = images(1.0)
    samples = [PlateDataSample(gt_text='AB12', metainfo=dict(valid_ratio=0.5)),
               PlateDataSample(gt_text='XYZ9876', metainfo=dict(valid_ratio=1.0))]
    memory = model.encoder(model.extract_feat(x))
    half = -(-memory.shape[1] // 2)
    targets = model.encode_targets(['AB12', 'XYZ9876'])
    loss = model.loss(x, samples)['loss_ce' if kind == 'attn' else 'loss_ctc']
    preds = model.predict(x, [PlateDataSample(metainfo=s.metainfo) for s in samples])
    if kind == 'ctc':
        assert model.memory_mask(memory, [0.5, 1.0]) is None
        torch.testing.assert_close(loss, model.decoder.loss(memory, targets)['loss_ctc'])
        return
    # Image 0 read from its first half alone, image 1 whole.
    alone = [model.decoder.sequence_nll(memory[:1, :half], targets[:1]),
             model.decoder.sequence_nll(memory[1:], targets[1:])]
    masked = model.decoder.score_sequences(
        memory, targets, memory_mask=model.memory_mask(memory, [0.5, 1.0]))[0]
    torch.testing.assert_close(masked, torch.cat(alone))
    mask = model.memory_mask(memory, [0.5, 1.0])
    torch.testing.assert_close(loss, model.decoder.loss(memory, targets, mask)['loss_ce'])
    assert not torch.allclose(loss, model.decoder.loss(memory, targets)['loss_ce'])
    first = model.decoder.predict(memory[:1, :half])[0]
    assert (preds[0].pred_text, preds[0].pred_score) == pytest.approx(
        (first['text'], first['score']))


class _Backbone(torch.nn.Module):
    """A backbone breaking the contract one way (``mode``)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        if mode != 'no width':
            self.out_channels = 16 if mode == 'wrong width' else 8

    def forward(self, x):
        x = self.conv(x)
        if self.mode == 'stages':
            return (x, x)
        if self.mode == 'sequence':
            return x.mean(2).transpose(1, 2)
        return x


@pytest.mark.parametrize('mode, error, says', [
    ('stages', TypeError, 'returned a tuple; a backbone returns one (B, C, H, W)'),
    ('sequence', TypeError, 'returned a tensor of shape (2, 36, 8)'),
    ('wrong width', ValueError, 'declares out_channels=16 but returned 8 channels'),
])
def test_a_backbone_breaking_its_contract_is_named(mode, error, says):
    model = build('ctc')
    model.backbone = _Backbone(mode)
    with pytest.raises(error, match=f'backbone _Backbone {re.escape(says)}'):
        model.extract_feat(torch.randn(2, 3, 24, 36))


def test_a_backbone_without_out_channels_is_named_at_build(monkeypatch):
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS['ctc'])).model
    monkeypatch.setitem(MODELS._module_dict, '_Backbone', _Backbone)
    cfg.backbone = dict(type='_Backbone', mode='no width')
    cfg.data_preprocessor = None
    with pytest.raises(TypeError, match='backbone _Backbone declares no out_channels'):
        MODELS.build(cfg.to_dict())


@pytest.mark.parametrize('kind', ['attn', 'ctc'])
def test_count_flops_sets_each_readings_cost_and_a_trace_failure_leaves_it_out(kind,
                                                                               monkeypatch):
    """tools/test.py turns count_flops on for a plain recognizer (it reported
    no cost/ figures); a model fvcore cannot trace is read uncounted, not
    refused (the count is the report's, not the reading's)."""
    from unittest import mock

    from dld.apis.scaled_prediction import RecognizerCosts
    from dld.models.distillers import scale_costs
    model = build(kind, count_flops=True).eval()
    x = images(1.0)
    samples = model.predict(x, [PlateDataSample() for _ in range(len(x))])
    expected = RecognizerCosts(model, tuple(x.shape[-2:])).gflops_at(1.0)
    assert all(s.pred_gflops == pytest.approx(expected) and s.pred_scale == 1.0
               for s in samples)
    assert expected > 0
    broken = build(kind, count_flops=True).eval()
    monkeypatch.setattr(scale_costs.ScaleCosts, 'student_flops_at',
                        mock.Mock(side_effect=RuntimeError('cannot trace this part')))
    with mock.patch('mmengine.logging.print_log') as log:
        samples = broken.predict(x, [PlateDataSample() for _ in range(len(x))])
        broken.predict(x, [PlateDataSample() for _ in range(len(x))])
    assert all(s.pred_text is not None and 'pred_gflops' not in s for s in samples)
    assert log.call_count == 1  # once, not a batch
    assert 'cannot trace this part' in log.call_args.args[0]


@pytest.mark.parametrize('decoder', [dict(type='CTCDecoder'),
                                     dict(type='AttentionDecoder', d_model=32, num_layers=1,
                                          dropout=0.0, max_seq_len=8)])
def test_a_beam_of_one_in_test_cfg_reads_as_greedy_decoding(decoder):
    """infer.py --beam-width 1 reads greedily, a config's beam of one ran a
    beam that kept 'end here' as a finished reading at each step: another,
    shorter text, at the same cost said."""
    torch.manual_seed(0)
    beam_of_one = tiny_recognizer(decoder, test_cfg=dict(decode='beam', beam_width=1)).eval()
    greedy = tiny_recognizer(decoder).eval()
    greedy.load_state_dict(beam_of_one.state_dict())
    assert beam_of_one.test_cfg['decode'] == 'greedy'
    x = torch.randn(6, 3, 32, 96)
    with torch.no_grad():
        assert [p.pred_text for p in beam_of_one.predict(x)] == \
            [p.pred_text for p in greedy.predict(x)]


def test_a_beam_of_one_asked_for_several_texts_is_refused():
    """It read greedily and returned one text where topk asked for two,
    without a word; infer.py --beam-width 1 --topk 2 is refused too."""
    with pytest.raises(ValueError, match='beam_width=1 reads greedily.*topk=2 needs '
                                         'beam_width >= 2'):
        tiny_recognizer(dict(type='CTCDecoder'),
                        test_cfg=dict(decode='beam', beam_width=1, topk=2))
