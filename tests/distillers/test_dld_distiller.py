"""DLDDistiller: frozen teacher, routing, loss terms and the selector."""
import copy
import math
from unittest import mock

import pytest
import torch

from dld.models.losses import sequence_kd_loss
from dld.registry import MODELS

from .conftest import plate_batch, record_computed, tiny_dld_cfg


def build(teacher_path, **overrides):
    torch.manual_seed(0)
    return MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_path, **overrides))


def test_missing_teacher_checkpoint_names_the_training_command(tmp_path):
    with pytest.raises(FileNotFoundError, match='tools/train.py configs/teacher_plate_hr.py'):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=str(tmp_path / 'nope.pth')))


def test_teacher_dir_resolves_to_its_best_checkpoint(teacher_ckpt, tmp_path):
    import shutil
    work = tmp_path / 'teacher_run'
    work.mkdir()
    shutil.copy(teacher_ckpt(), work / 'best_plate_accuracy_epoch_3.pth')
    model = build(str(work))
    assert bool(model.teacher_loaded)


def test_teacher_trained_with_an_auxiliary_head_loads_without_it(tmp_path):
    """The quickstart teacher trains with an auxiliary CTC head; DLD's teacher
    and student are the inference network, so the head's weights stay out."""
    torch.manual_seed(3)
    teacher_cfg = dict(tiny_dld_cfg()['teacher'], aux_decoder=dict(type='CTCDecoder'))
    teacher = MODELS.build(teacher_cfg)
    path = str(tmp_path / 'teacher_aux.pth')
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    model = build(path)
    assert model.teacher.aux_decoder is None and model.student.aux_decoder is None
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher.state_dict()[key]), key
    copied = 0
    for key, value in model.student.state_dict().items():  # per-scale BN has its own shape
        if key in teacher.state_dict() and value.shape == teacher.state_dict()[key].shape:
            assert torch.equal(value, teacher.state_dict()[key]), key
            copied += 1
    assert copied > len(list(model.student.decoder.parameters()))


def test_teacher_is_frozen_and_unchanged_by_training_steps(teacher_ckpt):
    model = build(teacher_ckpt())
    before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    model.train()
    assert not model.teacher.training, 'teacher must stay in eval mode'
    for step in range(2):
        lr, hr, samples = plate_batch(4, seed=step)
        losses = model(lr, samples, mode='loss', inputs_hr=hr)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        optim.zero_grad()
        total.backward()
        assert all(p.grad is None for p in model.teacher.parameters())
        optim.step()
    after = model.teacher.state_dict()
    for key, value in before.items():
        assert torch.equal(value, after[key]), f'teacher {key} changed'
    assert all(not p.requires_grad for p in model.teacher.parameters())
    # The student did learn.
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.parameters())


def test_teacher_norm_eval_false_lets_batchnorm_statistics_drift(teacher_ckpt):
    model = build(teacher_ckpt(), teacher_norm_eval=False)
    model.train()
    bn = next(m for m in model.teacher.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = bn.running_mean.clone()
    lr, hr, samples = plate_batch(4)
    model(lr, samples, mode='loss', inputs_hr=hr)
    assert not torch.equal(before, bn.running_mean)
    assert all(p.grad is None for p in model.teacher.parameters())
    # Only the BatchNorm layers: the teacher's dropout stays off.
    dropout = [m for m in model.teacher.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropout and not any(m.training for m in dropout)
    model.eval()
    assert not any(m.training for m in model.teacher.modules())


def test_predict_never_calls_the_teacher(teacher_ckpt):
    model = build(teacher_ckpt())
    calls = []
    for module in model.teacher.modules():
        module.register_forward_hook(lambda *a: calls.append(1))
    model.teacher.forward_features = lambda *a, **k: calls.append(1)
    model.eval()
    lr, _, samples = plate_batch(4)
    out = model(lr, samples, mode='predict')
    assert calls == []
    assert all(isinstance(ds.pred_text, str) for ds in out)
    assert all(ds.pred_scale in model.scales for ds in out)
    assert all(ds.pred_gflops > 0 for ds in out)


def test_predict_groups_images_by_scale_and_matches_fixed_scale_reading(teacher_ckpt):
    model = build(teacher_ckpt())
    model.eval()
    lr, _, samples = plate_batch(6)
    forced = model.predict(lr, copy.deepcopy(samples), force_scale=0.5)
    direct = model.student.predict(model.resize(lr, 0.5), copy.deepcopy(samples))
    assert [d.pred_text for d in forced] == [d.pred_text for d in direct]
    assert all(d.pred_scale == 0.5 for d in forced)


def _direct_readings(model, lr, samples):
    """The student's reading of every image at every candidate scale."""
    out = {}
    for scale in model.scales:
        read = model.student.predict(model.resize(lr, scale), copy.deepcopy(samples))
        out[scale] = [(d.pred_text, d.pred_score) for d in read]
    return out


def test_reread_reads_unsure_images_again_at_larger_scales(teacher_ckpt):
    model = build(teacher_ckpt())
    model.eval()
    lr, _, samples = plate_batch(8)
    direct = _direct_readings(model, lr, samples)
    first = model.predict(lr, copy.deepcopy(samples), reread={})
    scores = sorted(d.pred_score for d in first)
    min_score = scores[len(scores) // 2]  # about half the images are unsure
    reread = dict(min_score=min_score, scales=[1.0, 0.6])  # any order: read ascending
    out = model.predict(lr, copy.deepcopy(samples), reread=reread)
    cost = {s: model.costs.student_flops_at(s) / 1e9 for s in model.scales}
    selector = model.costs.selector_flops / 1e9
    num_reread = 0
    for i, (f, d) in enumerate(zip(first, out)):
        expected = [f.pred_scale]
        for scale in (0.6, 1.0):
            if direct[expected[-1]][i][1] < min_score and expected[-1] < scale:
                expected.append(scale)
        num_reread += len(expected) > 1
        assert d.pred_scales == expected
        assert d.pred_scale == expected[-1]
        assert (d.pred_text, d.pred_score) == pytest.approx(direct[expected[-1]][i])
        assert d.pred_gflops == pytest.approx(selector + sum(cost[s] for s in expected))
    assert 0 < num_reread < len(out)


def test_reread_off_or_forced_scale_reads_once(teacher_ckpt):
    model = build(teacher_ckpt(), test_cfg=dict(reread=dict(min_score=1.0, scales=[1.0])))
    model.eval()
    lr, _, samples = plate_batch(4)
    configured = model.predict(lr, copy.deepcopy(samples))
    assert all(d.pred_scale == 1.0 for d in configured)
    off = model.predict(lr, copy.deepcopy(samples), reread={})
    assert all(len(d.pred_scales) == 1 for d in off)
    forced = model.predict(lr, copy.deepcopy(samples), force_scale=0.5)
    assert all(d.pred_scales == [0.5] for d in forced)
    # what each could have kept: the metric gives every one a share, 0 or not
    assert all(d.scale_choices == sorted(model.scales) for d in off)
    assert all(d.scale_choices == sorted({*model.scales, 1.0}) for d in configured)
    assert all(d.scale_choices == [0.5] for d in forced)
    with pytest.raises(ValueError, match='reread'):  # its own message, not KeyError 'scales'
        model.predict(lr, copy.deepcopy(samples), reread=dict(min_score=0.5))
    assert all(d.pred_gflops == pytest.approx(model.costs.gflops_at(0.5, with_selector=False))
               for d in forced)


@pytest.mark.parametrize('reread, match', [
    (dict(min_score=0.5, scales=[0.7]), 'not candidate scales'),
    (dict(scales=[0.8]), 'min_score'),
    (dict(min_score=0.5, scales=[]), 'min_score'),
    (dict(min_score=2.0, scales=[0.8]), 'probability'),
])
def test_reread_config_is_checked_at_build(teacher_ckpt, reread, match):
    with pytest.raises(ValueError, match=match):
        build(teacher_ckpt(), test_cfg=dict(reread=reread))


def test_training_needs_the_hr_stream(teacher_ckpt):
    model = build(teacher_ckpt())
    lr, _, samples = plate_batch(2)
    with pytest.raises(ValueError, match='inputs_hr'):
        model(lr, samples, mode='loss')


def test_skd_term_equals_hand_computation(teacher_ckpt):
    """One fixed scale, no selector: loss_skd = sum_j w_j NLL_student(beam_j)."""
    model = build(teacher_ckpt(), selector=None, fixed_scale=0.6,
                  losses=dict(skd=dict(type='SequenceKDLoss', weighting='score')))
    model.train()
    lr, hr, samples = plate_batch(3)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    # Still in train mode: the student's BatchNorm uses this batch's statistics,
    # as it did in the loss (the tiny configs have no dropout).
    with torch.no_grad():
        enc_t = model.teacher.forward_features(hr)['encoder_out']
        beams, scores = model.teacher.decoder.beam_search(enc_t, 5, 3)
        enc_s = model.student.forward_features(model.resize(lr, 0.6))['encoder_out']
        nll = torch.zeros_like(scores)
        for i in range(3):
            for j, seq in enumerate(beams[i]):
                nll[i, j] = model.student.sequence_nll(enc_s[i:i + 1], [seq])[0]
        expected = 0.0
        for i in range(3):
            valid = torch.isfinite(scores[i])
            w = torch.softmax(scores[i][valid], 0)
            expected += float((w * nll[i][valid]).sum())
        expected /= 3
    assert losses['loss_skd'].item() == pytest.approx(expected, rel=1e-4)
    assert sequence_kd_loss(nll, scores).item() == pytest.approx(expected, rel=1e-4)


def test_selector_gets_gradient_through_straight_through_gumbel(teacher_ckpt):
    model = build(teacher_ckpt())
    model.train()
    lr, hr, samples = plate_batch(4)
    decisions, _ = model.select(lr)
    assert torch.equal(decisions.sum(1), torch.ones(4))
    assert set(decisions.unique().tolist()) <= {0.0, 1.0}
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    losses['loss_selector'].backward()
    grads = [p.grad for p in model.selector.parameters() if p.grad is not None]
    assert grads and sum(g.abs().sum() for g in grads) > 0


def test_sampled_strategy_runs_two_scales_per_image(teacher_ckpt):
    model = build(teacher_ckpt(), scale_strategy='sampled')
    chosen = torch.tensor([0, 5, 2, 2])
    mask = model._scales_to_compute(chosen)
    assert mask.sum(1).tolist() == [2, 2, 2, 2]
    assert mask[torch.arange(4), chosen].all()


def test_sampled_strategy_scores_the_unread_scales_for_the_selector(teacher_ckpt):
    # Scored 0, the scales not read looked free and drew the selector to them.
    model = build(teacher_ckpt(), scale_strategy='sampled')
    model.train()
    seen = {}
    orig_compute, orig_loss = model._scales_to_compute, model.selector_loss.forward

    def spy_compute(chosen):
        seen['chosen'], seen['computed'] = chosen, orig_compute(chosen)
        return seen['computed']

    def spy_loss(decisions, score, *args, **kwargs):
        seen['score'], seen['kwargs'] = score, kwargs
        return orig_loss(decisions, score, *args, **kwargs)

    model._scales_to_compute = spy_compute
    model.selector_loss.forward = spy_loss
    lr, hr, samples = plate_batch(6)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    score, computed, chosen = seen['score'], seen['computed'], seen['chosen']
    rows = torch.arange(6)
    assert torch.isfinite(score).all() and seen['kwargs'].get('computed_mask') is None
    at_chosen = score[rows, chosen]
    torch.testing.assert_close(score[~computed], at_chosen[:, None].expand(6, 6)[~computed])
    assert losses['selector_score'].item() == pytest.approx(at_chosen.mean().item(), rel=1e-5)
    # the other scale read stands for the five not chosen
    other = computed.clone()
    other[rows, chosen] = False
    assert not torch.allclose(score[other], at_chosen)


@pytest.mark.parametrize('mode', ['loss', 'predict'])
def test_inputs_of_another_size_than_base_size_are_refused(teacher_ckpt, mode):
    # Read silently, scale 1.0 would have meant 48x144 and the FLOPs those of it.
    model = build(teacher_ckpt())
    lr, hr, samples = plate_batch(2)
    smaller = torch.nn.functional.interpolate(lr, size=(32, 128))
    with pytest.raises(ValueError, match=r'model.base_size=\(32, 128\)'):
        model(smaller, samples, mode=mode, inputs_hr=hr)
    if mode == 'predict':  # as PlateRecognizer and the reports call it
        with pytest.raises(ValueError, match=r'model.base_size=\(32, 128\)'):
            model.predict(smaller, samples)


def test_flops_on_uncomputed_is_refused_where_every_scale_is_charged(teacher_ckpt):
    with pytest.raises(ValueError, match='flops_on_uncomputed has no effect'):
        build(teacher_ckpt(), losses=dict(selector=dict(
            type='ResolutionSelectorLoss', gamma=0.1, flops_on_uncomputed=True)))


def test_costs_fall_monotonically_with_scale_and_include_the_selector(teacher_ckpt):
    model = build(teacher_ckpt())
    flops = [model.costs.student_flops[s] for s in model.scales]
    assert all(a > b for a, b in zip(flops, flops[1:]))
    rel = model.relative_cost.tolist()
    assert rel[0] > 1.0  # scale 1.0 = the teacher's cost plus the selector's
    assert model.costs.selector_flops > 0
    assert model.costs.gflops_at(0.3) == pytest.approx(
        (model.costs.student_flops[0.3] + model.costs.selector_flops) / 1e9)


def test_scale_pow_cost_reproduces_the_public_code(teacher_ckpt):
    model = build(teacher_ckpt(), cost='scale_pow', cost_power=1.5)
    expected = torch.tensor([s**1.5 for s in model.scales])
    assert torch.allclose(model.relative_cost, expected)


def test_a_beam_narrower_than_the_distilled_top_k_is_refused(teacher_ckpt):
    with pytest.raises(ValueError, match=r'skd_beam_width \(2\) must be >= skd_topk \(3\)'):
        build(teacher_ckpt(), skd_topk=3, skd_beam_width=2)


def test_unknown_loss_role_fails_loudly(teacher_ckpt):
    cfg = tiny_dld_cfg(teacher_ckpt=teacher_ckpt())
    cfg['losses']['sekd'] = dict(type='SequenceKDLoss')
    # a KeyError was printed quoted by get_flops.py, with no close name
    with pytest.raises(ValueError, match=r"model.losses: unknown loss role\(s\) \['sekd'\]; the "
                                         r'roles are skd, feature, logit, selector and extra '
                                         r'\(terms of your own by name\); did you mean skd\?'):
        MODELS.build(cfg)


@pytest.mark.parametrize('logit', [
    dict(type='KLDivLoss', temperature=2.0),
    dict(type='DMLLoss'),
    dict(type='DKDLoss'),
])
def test_logit_kd_options_train(teacher_ckpt, logit):
    cfg = tiny_dld_cfg(teacher_ckpt=teacher_ckpt())
    cfg['losses']['logit'] = logit
    model = MODELS.build(cfg)
    model.train()
    lr, hr, samples = plate_batch(2)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    assert torch.isfinite(losses['loss_logit']) and losses['loss_logit'] > 0
    losses['loss_logit'].backward()


def test_ctc_student_trains_at_every_scale(teacher_ckpt):
    path = teacher_ckpt('configs/dld_plate_ctc.py')
    torch.manual_seed(0)
    model = MODELS.build(tiny_dld_cfg('configs/dld_plate_ctc.py', teacher_ckpt=path))
    model.train()
    lr, hr, samples = plate_batch(4)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize('config', ['configs/dld_plate.py', 'configs/dld_plate_ctc.py'])
def test_logit_kd_counts_the_frames_of_ctc_and_the_target_steps_of_attention(
        teacher_ckpt, config):
    """Logits that differ only past the targets' ends: a CTC student (one
    distribution per frame, at equal length with its teacher at scale 1.0)
    must still be taught there, an attention decoder's padded steps not."""
    cfg = tiny_dld_cfg(config, teacher_ckpt=teacher_ckpt(config))
    cfg['losses']['logit'] = dict(type='KLDivLoss', temperature=1.0)
    model = MODELS.build(cfg)
    gt = [[1, 2, 3], [4, 5]]
    t_logits = torch.randn(2, 12, 10)
    s_logits = t_logits.clone()
    s_logits[:, 6:] = torch.randn(2, 6, 10)
    loss = model._logit_terms(dict(logits=s_logits), dict(logits=t_logits),
                              torch.arange(2), gt)
    if model.student.decoder.logits_per_frame:
        assert (loss > 0).all()
    else:
        assert torch.equal(loss, torch.zeros(2))


def _train_selector_only(model, gamma, steps=40):
    model.selector_loss.gamma = gamma
    model.selector.tau = 1.0
    optim = torch.optim.Adam(model.selector.parameters(), lr=0.05)
    model.train()
    model.student.eval()  # frozen like the teacher: at scale 1.0 the two agree exactly
    for step in range(steps):
        lr, _, samples = plate_batch(8, seed=step)
        # Efficiency setting: the student reads the HR crop too, so at scale
        # 1.0 it equals the teacher (KL = 0) and loses information below.
        losses = model(lr, samples, mode='loss', inputs_hr=lr)
        optim.zero_grad()
        losses['loss_selector'].backward()
        optim.step()
    model.eval()
    lr, _, _ = plate_batch(16, seed=999)
    _, chosen = model.select(lr)
    return torch.tensor(model.scales)[chosen]


@pytest.mark.slow
def test_selector_converges_to_smallest_scale_when_flops_dominate(teacher_ckpt):
    path = teacher_ckpt()
    cheap = _train_selector_only(build(path), gamma=50.0, steps=80)
    assert (cheap == min(build(path).scales)).float().mean() >= 0.9
    exact = _train_selector_only(build(path), gamma=0.0)
    assert (exact == 0.3).float().mean() <= 0.1
    assert exact.mean() > 0.8


def test_topk_sequence_kl_is_a_true_kl_over_beams_and_rest():
    from dld.models.losses.functional import topk_sequence_kl
    scores = torch.tensor([[-0.2, -2.0, float('-inf')]])
    same = topk_sequence_kl(-scores.clone().nan_to_num(neginf=0.0), scores)
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    nll = torch.tensor([[1.0, 0.5, 3.0]])
    p_t = torch.tensor([0.2, 2.0]).neg().exp()
    p_s = torch.tensor([1.0, 0.5]).neg().exp()
    r_t, r_s = 1 - p_t.sum(), 1 - p_s.sum()
    expected = (p_t * (p_t.log() - p_s.log())).sum() + r_t * (r_t.log() - r_s.log())
    assert topk_sequence_kl(nll, scores).item() == pytest.approx(expected.item(), rel=1e-5)
    assert expected > 0


def test_topk_sequence_kl_is_never_below_zero():
    """Beam probabilities summing past 1 (a CTC prefix search's estimates,
    each clamped rest) gave -0.0198 here, logged as ``selector_score: -0.0000``."""
    from dld.models.losses.functional import topk_sequence_kl
    kl = topk_sequence_kl(torch.zeros(1, 2), torch.full((1, 2), -0.01))
    assert kl.item() == 0.0


def test_topk_sequence_kl_keeps_the_rest_precise_when_beams_hold_nearly_all_mass():
    from dld.models.losses.functional import topk_sequence_kl
    scores64 = torch.tensor([[-1e-5, -14.0], [-3e-6, float('-inf')]], dtype=torch.float64)
    nll64 = torch.tensor([[2e-5, 13.0], [1e-5, 5.0]], dtype=torch.float64)
    exact = topk_sequence_kl(nll64, scores64)
    nll = nll64.float().requires_grad_()
    got = topk_sequence_kl(nll, scores64.float())
    torch.testing.assert_close(got.double(), exact, rtol=1e-3, atol=0)
    got.sum().backward()
    assert torch.isfinite(nll.grad).all()
    # No beam at all: nothing to compare, and no nan in the gradient.
    none = torch.full((1, 2), float('-inf'))
    nll = torch.zeros(1, 2, requires_grad=True)
    topk_sequence_kl(nll, none).sum().backward()
    assert topk_sequence_kl(nll, none).item() == 0.0 and torch.isfinite(nll.grad).all()


def test_selector_stage_trains_the_selector_alone_on_the_eval_mode_student(teacher_ckpt):
    model = MODELS.build(tiny_dld_cfg('configs/dld_plate_hr_selector.py',
                                      teacher_ckpt=teacher_ckpt()))
    model.train()
    assert not model.student.training and not model.teacher.training
    assert model.selector.training
    before = {k: v.clone() for k, v in model.student.state_dict().items()}
    lr, hr, samples = plate_batch()
    losses = model.loss(lr, samples, hr)
    assert not any(k in losses for k in ('loss_task', 'loss_skd', 'loss_feature'))
    losses['loss_selector'].backward()
    assert all(p.grad is None for p in model.student.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.selector.parameters())
    # eval mode: the student's BatchNorm statistics did not move either
    after = model.student.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match='needs a selector'):
        MODELS.build(tiny_dld_cfg('configs/dld_plate_fixed.py', teacher_ckpt=teacher_ckpt(),
                                  train_student=False))


def test_selector_stage_carries_the_connectors_to_the_next_student_stage(teacher_ckpt):
    ckpt = teacher_ckpt('configs/dld_plate.py')
    torch.manual_seed(3)
    joint = MODELS.build(tiny_dld_cfg('configs/dld_plate.py', teacher_ckpt=ckpt))
    selector_stage = MODELS.build(tiny_dld_cfg('configs/dld_plate_selector.py',
                                               teacher_ckpt=ckpt))
    # load_from: every key of the joint run's checkpoint has a place
    missing, unexpected = selector_stage.load_state_dict(joint.state_dict(), strict=False)
    assert not missing and not unexpected
    # the frozen student's distillation terms are not computed
    selector_stage.feature_loss.forward = selector_stage.skd_loss.forward = None
    selector_stage.train()
    lr, hr, samples = plate_batch()
    losses = selector_stage.loss(lr, samples, hr)
    assert set(k for k in losses if k.startswith('loss_')) == {'loss_selector'}
    # its checkpoint starts a student stage with the joint run's connectors
    student_stage = MODELS.build(tiny_dld_cfg('configs/dld_plate_student_online.py',
                                              teacher_ckpt=ckpt))
    student_stage.load_state_dict(selector_stage.state_dict(), strict=True)
    joint_connectors = joint.connectors.state_dict()
    assert all(torch.equal(v, joint_connectors[k])
               for k, v in student_stage.connectors.state_dict().items())


def test_distinct_sequences_decodes_each_sequence_once_per_image():
    from dld.models.distillers import distinct_sequences
    gt = [[1, 2], [3]]
    beams = [[[1, 2], [1, 3], [1, 3]], [[4], [3]]]
    scores = torch.tensor([[-0.1, -2.0, -3.0], [-0.5, -1.0, float('-inf')]])
    seqs, rows, beam_rows = distinct_sequences(gt, beams, scores)
    assert seqs == [[1, 2], [3], [1, 3], [4]]
    assert rows == [0, 1, 0, 1]
    # image 0: top beam is its ground truth, beams 2 and 3 are one sequence;
    # image 1: second beam is its ground truth, the third does not exist.
    assert beam_rows == [0, 2, 2, 3, 1, -1]


def test_shared_decoder_pass_equals_decoding_each_sequence(teacher_ckpt):
    model = build(teacher_ckpt(), scale_strategy='all')
    model.train()
    model.student.eval()  # no dropout: one pass and separate passes must agree
    lr, hr, samples = plate_batch(4, seed=5)
    gt = model.student.encode_targets([ds.gt_text for ds in samples])
    teacher = model._run_teacher(hr, gt)
    beams, scores = teacher['beams'], teacher['beam_scores']
    beams[0][0] = list(gt[0])  # a top beam equal to the ground truth is reused
    idx = torch.arange(4)
    x = model.resize(lr, 0.5)
    terms = model._student_terms(x, idx, gt, teacher)
    enc = model.student.encoder(model.student.extract_feat(x))
    nll = torch.stack([model.student.sequence_nll(enc[i:i + 1], [beams[i][j]])[0]
                       if torch.isfinite(scores[i, j]) else torch.tensor(0.0)
                       for i in range(4) for j in range(scores.shape[1])]).view(4, -1)
    expected = model.skd_loss(nll, scores, reduction_override='none')
    torch.testing.assert_close(terms['skd'], expected, rtol=1e-4, atol=1e-5)
    task = model.student.sequence_nll(enc, gt) / torch.tensor([len(t) for t in gt])
    torch.testing.assert_close(terms['task'], task, rtol=1e-4, atol=1e-5)


def test_student_stage_leaves_the_selector_alone_and_samples_scales_uniformly(teacher_ckpt):
    model = build(teacher_ckpt(), train_selector=False)
    before = {k: v.clone() for k, v in model.selector.state_dict().items()}
    model.train()
    assert not model.selector.training
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    counts = torch.zeros(len(model.scales))
    orig = model._scales_to_compute

    def spy(chosen):
        computed = orig(chosen)
        counts.add_(computed.sum(0))
        assert (computed.sum(1) == 2).all()  # 'sampled': two distinct scales per image
        return computed

    model._scales_to_compute = spy
    for step in range(6):
        lr, hr, samples = plate_batch(8, seed=step)
        losses = model(lr, samples, mode='loss', inputs_hr=hr)
        assert 'loss_selector' not in losses and 'loss_task' in losses
        optim.zero_grad()
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        optim.step()
    for k, v in model.selector.state_dict().items():
        assert torch.equal(v, before[k]), k
    # 96 draws over 6 scales: every scale is practised, none dominates.
    assert counts.min() >= 6 and counts.max() <= 30, counts


def test_student_stage_reads_each_image_first_where_the_frozen_selector_sends_it(
        teacher_ckpt):
    model = build(teacher_ckpt(), train_selector=False, student_stage_scales='selector')
    model.train()
    picks = torch.tensor([1, 4, 1, 0, 1, 1, 5, 1])
    model.selector.forward = lambda x: 10 * torch.nn.functional.one_hot(
        picks[:x.shape[0]], len(model.scales)).float()
    seen = record_computed(model)
    lr, hr, samples = plate_batch(8)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    assert 'loss_selector' not in losses
    computed = seen[0]
    assert computed[torch.arange(8), picks].all()  # the selector's scale, every image
    assert (computed.sum(1) == 2).all()  # and one other ('sampled')


@pytest.mark.parametrize('overrides', [dict(train_selector=True),
                                       dict(train_selector=False, selector=None,
                                            fixed_scale=1.0)])
def test_selector_scales_need_a_frozen_selector(teacher_ckpt, overrides):
    with pytest.raises(ValueError, match="student_stage_scales='selector'"):
        build(teacher_ckpt(), student_stage_scales='selector', **overrides)


def test_training_nothing_is_an_error(teacher_ckpt):
    with pytest.raises(ValueError, match='train nothing'):
        build(teacher_ckpt(), train_student=False, train_selector=False)


def test_expected_decisions_weigh_every_scale_by_the_selector_probability(teacher_ckpt):
    model = build(teacher_ckpt(), scale_strategy='all', selector_decisions='expected',
                  train_student=False)
    model.train()
    k = len(model.scales)
    score = torch.linspace(0.5, 0.0, k)  # the cheapest scale reads worst

    calls = []

    def fake_terms(out, idx, plan, teacher):  # called once per scale, in scale order
        i = len(calls) % k
        calls.append(i)
        return dict(task=idx.new_zeros(len(idx), dtype=torch.float),
                    score=score[i].expand(len(idx)))

    model._terms_from_outputs = fake_terms
    lr, hr, samples = plate_batch(4, seed=1)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    probs = model.selector(lr).softmax(-1)
    gamma = model.selector_loss.gamma
    expected = (probs * (score + gamma * model.relative_cost)).sum(1).mean()
    assert calls == list(range(k))
    torch.testing.assert_close(losses['loss_selector'], expected)
    losses['loss_selector'].backward()
    assert all(p.grad is not None for p in model.selector.parameters())


def test_expected_decisions_need_every_scale(teacher_ckpt):
    with pytest.raises(ValueError, match="scale_strategy='all'"):
        build(teacher_ckpt(), scale_strategy='sampled', selector_decisions='expected')


def test_top1_miss_charges_only_a_different_reading(teacher_ckpt):
    model = build(teacher_ckpt(), scale_strategy='all', selector_score='top1_miss')
    model.eval()
    lr, hr, samples = plate_batch(6, seed=2)
    gt = model.student.encode_targets([ds.gt_text for ds in samples])
    teacher = model._run_teacher(hr, gt)
    for i in range(6):  # distinct top beams, so each has its own likelihood
        teacher['beams'][i][0] = [i + 1, i + 2]
    # The student's p(top beam): above 1/2 on even images, below on odd ones.
    p_top = {(i + 1, i + 2): 0.9 if i % 2 == 0 else 0.4 for i in range(6)}
    module_loss = model.student.decoder.module_loss
    real_nll = module_loss.nll

    def nll(logits, seqs, **kwargs):
        out = real_nll(logits, seqs, **kwargs)
        return torch.stack([-torch.tensor(p_top[tuple(q)]).log() if tuple(q) in p_top
                            else v for q, v in zip(seqs, out)])

    module_loss.nll = nll
    with torch.no_grad():
        score = model._student_terms(model.resize(lr, 0.5), torch.arange(6), gt,
                                     teacher)['score']
    assert score.tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_lr_stronger_distillation_variants_change_only_their_loss(teacher_ckpt):
    """The two third-cycle variants of docs/results.md: per-step logit KL on
    top of SKD and feature L2, and the feature L2 weighted 3x."""
    base = tiny_dld_cfg('configs/dld_plate_student_online.py', teacher_ckpt=teacher_ckpt())
    logit = tiny_dld_cfg('configs/dld_plate_student_online_logit.py',
                         teacher_ckpt=teacher_ckpt())
    feat3 = tiny_dld_cfg('configs/dld_plate_student_online_feat3.py',
                         teacher_ckpt=teacher_ckpt())
    for cfg in (logit, feat3):
        assert {k: v for k, v in cfg.items() if k != 'losses'} == \
            {k: v for k, v in base.items() if k != 'losses'}
    assert feat3['losses']['feature']['loss_weight'] == 3.0

    lr, hr, samples = plate_batch()
    torch.manual_seed(0)
    model = MODELS.build(logit).train()
    losses = model.loss(lr, samples, hr)
    assert not model.train_selector and losses['loss_logit'] > 0
    losses['loss_logit'].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.parameters())
    torch.manual_seed(0)
    weak = MODELS.build(base).train().loss(lr, samples, hr)['loss_feature']
    torch.manual_seed(0)
    strong = MODELS.build(feat3).train().loss(lr, samples, hr)
    assert 'loss_logit' not in strong
    assert strong['loss_feature'].item() == pytest.approx(3 * weak.item(), rel=1e-4)


def test_selector_scales_variant_changes_only_where_the_student_reads_first():
    base = tiny_dld_cfg('configs/dld_plate_student_online.py')
    guided = tiny_dld_cfg('configs/dld_plate_student_online_selector_scales.py')
    assert guided.pop('student_stage_scales') == 'selector'
    assert guided == base


@pytest.mark.parametrize('strategy', ['all', 'sampled'])
def test_every_scale_decodes_in_one_pass_as_each_would_alone(teacher_ckpt, strategy):
    """The student's decoder reads every scale's memory in one padded pass:
    the losses and gradients are those of one decoder pass per scale."""
    cfg = tiny_dld_cfg(teacher_ckpt=teacher_ckpt(), scale_strategy=strategy)
    cfg['losses']['logit'] = dict(type='KLDivLoss', temperature=2.0, loss_weight=1.0)
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()  # no dropout: both passes compute the same thing
    lr, hr, samples = plate_batch(6, seed=3)
    decoder = model.student.decoder
    passes = []
    real = decoder.score_sequences

    def counted(*args, **kwargs):
        passes.append(args[0].shape[0])
        return real(*args, **kwargs)

    decoder.score_sequences = counted
    results = {}
    for padded in (True, False):
        decoder.reads_padded_memory = padded
        passes.clear()
        model.zero_grad()
        torch.manual_seed(1)  # the same selector noise and drawn scales
        losses = model(lr, samples, mode='loss', inputs_hr=hr)
        model.parse_losses(losses)[0].backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results[padded] = (losses, grads, list(passes))
    (batched, g_batched, p_batched), (alone, g_alone, p_alone) = results[True], results[False]
    assert len(p_batched) == 1 and len(p_alone) > 1  # one decoder pass instead of one per scale
    assert p_batched[0] == sum(p_alone)  # every scale's images, once each
    assert set(batched) == set(alone) and 'loss_logit' in batched
    for key in alone:
        torch.testing.assert_close(batched[key], alone[key], rtol=1e-4, atol=1e-5)
    assert g_batched.keys() == g_alone.keys()
    for name in g_alone:
        torch.testing.assert_close(g_batched[name], g_alone[name], rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize('decode', ['greedy', 'beam'])
def test_predict_decodes_every_scale_in_one_pass_as_each_would_alone(teacher_ckpt, decode):
    model = build(teacher_ckpt())
    model.student.test_cfg.update(decode=decode, topk=2 if decode == 'beam' else 1)
    model.eval()
    k = len(model.scales)
    lr, _, samples = plate_batch(2 * k)
    chosen = torch.arange(2 * k) % k  # every scale gets two images
    model.select_from_logits = lambda logits: (None, chosen)  # predict's choices
    direct = _direct_readings(model, lr, samples)
    decoder = model.student.decoder
    passes = []
    real = decoder.predict
    decoder.predict = lambda memory, *a, **kw: passes.append(memory.shape[0]) or real(
        memory, *a, **kw)
    out = model.predict(lr, copy.deepcopy(samples), reread={})
    assert passes == [2 * k]  # one decoder pass over every scale's images
    for i, d in enumerate(out):
        scale = model.scales[chosen[i]]
        assert d.pred_scale == scale and d.pred_scales == [scale]
        assert d.pred_text == direct[scale][i][0]
        assert d.pred_score == pytest.approx(direct[scale][i][1], rel=1e-4, abs=1e-6)
        assert d.pred_gflops == pytest.approx(model.costs.gflops_at(scale))
        if decode == 'beam':
            assert len(d.pred_topk) == 2


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('config', ['configs/dld_plate.py', 'configs/dld_plate_hr.py',
                                    'configs/dld_plate_ctc.py'])
def test_losses_under_autocast_are_float32_and_near_float32_ones(teacher_ckpt, config, dtype):
    """Mixed precision (BF16OptimWrapper's bfloat16 on the CPU; float16 is
    AmpOptimWrapper's on CUDA, autocast here on the CPU in its stead) runs the
    whole DLD step, teacher and beam search included, under autocast: every
    loss and the teacher's beam scores come out in float32 and near the
    float32 step's, and the backward pass reaches the student. Some LR frames
    are padded (valid_ratio < 1), so the features are resized content to
    content (resize_content) under autocast too."""
    cfg = tiny_dld_cfg(config, teacher_ckpt=teacher_ckpt(config), scale_strategy='all')
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()  # no dropout: both runs compute the same thing
    lr, hr, samples = plate_batch(6, seed=3)
    for ds, ratio in zip(samples, [1.0, 0.6, 0.98, 1.0, 0.8, 0.97]):
        ds.set_metainfo(dict(valid_ratio=ratio))
    runs = {}
    for half in (False, True):
        model.zero_grad()
        torch.manual_seed(1)  # the same selector noise
        with torch.autocast('cpu', dtype=dtype, enabled=half):
            losses = model(lr, samples, mode='loss', inputs_hr=hr)
            beams = model._run_teacher(model.teacher_view(lr, hr), model.student.encode_targets(
                [s.gt_text for s in samples]))
        model.parse_losses(losses)[0].backward()
        runs[half] = (losses, beams)
        assert beams['beam_scores'].dtype == torch.float32
    (ref, _), (got, _) = runs[False], runs[True]
    loss_keys = [k for k in ref if k.startswith('loss')]
    assert 'loss_skd' in loss_keys and 'loss_feature' in loss_keys
    for key in loss_keys:
        assert got[key].dtype == torch.float32, key
        assert torch.isfinite(got[key]), key
        torch.testing.assert_close(got[key], ref[key], rtol=0.05, atol=0.02, msg=key)
    grads = [p.grad for p in model.student.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


def _gathers(loss: torch.Tensor):
    """The index tensors of each row gather in ``loss``'s backward graph,
    by kind: ``x[rows]`` (IndexBackward0) and ``x.index_select(0, rows)``."""
    found = {'IndexBackward0': [], 'IndexSelectBackward0': []}
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if node.name() == 'IndexBackward0':
            found['IndexBackward0'] += [i for i in node._saved_indices if i is not None]
        elif node.name() == 'IndexSelectBackward0':
            found['IndexSelectBackward0'].append(node._saved_index)
        stack.extend(n for n, _ in node.next_functions)
    return found


def _repeats(index: torch.Tensor) -> bool:
    return index.dtype != torch.bool and index.unique().numel() < index.numel()


@pytest.mark.parametrize('config', ['configs/dld_plate.py', 'configs/dld_plate_ctc.py'])
def test_rows_read_more_than_once_are_gathered_with_a_deterministic_backward(
        teacher_ckpt, config):
    """The ground truth and the teacher's beams read the same image's memory.
    ``x[rows]`` with repeated rows adds their gradients with atomics on a
    multi-threaded CPU, so a loaded machine trained other weights from the
    same seed (2026-12-04); ``index_select`` adds them in order."""
    path = teacher_ckpt(config)
    torch.manual_seed(0)
    model = MODELS.build(tiny_dld_cfg(config, teacher_ckpt=path, scale_strategy='sampled'))
    model.train()
    lr, hr, samples = plate_batch(4)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    gathers = _gathers(sum(v for k, v in losses.items() if k.startswith('loss')))
    assert not any(_repeats(i) for i in gathers['IndexBackward0'])
    assert any(_repeats(i) for i in gathers['IndexSelectBackward0'])


def _record_content_ratios(connector, seen: list) -> None:
    forward = connector.forward

    def spy(x, *args, content_ratio=None, **kwargs):
        seen.append(content_ratio)
        return forward(x, *args, content_ratio=content_ratio, **kwargs)

    connector.forward = spy


@pytest.mark.parametrize('teacher_input', ['hr', 'lr'])
def test_features_are_aligned_content_to_content_when_the_lr_frame_is_padded(
        teacher_ckpt, teacher_input):
    """ResizePair pads LR to keep its aspect ratio and stretches HR: the
    connectors get each image's valid_ratio, so its content lands on the
    teacher's whole map. A teacher reading the same LR is padded alike."""
    model = build(teacher_ckpt(), scale_strategy='all', teacher_input=teacher_input)
    model.train()
    lr, hr, samples = plate_batch(4)
    seen = []
    for name in ('backbone', 'encoder'):
        _record_content_ratios(model.connectors[name], seen)
    model(lr, samples, mode='loss', inputs_hr=hr)
    assert len(seen) == 2 * len(model.scales) and all(r is None for r in seen)

    for ds, ratio in zip(samples, [1.0, 0.5, 1.0, 0.75]):
        ds.set_metainfo(dict(valid_ratio=ratio))
    seen.clear()
    model(lr, samples, mode='loss', inputs_hr=hr)
    assert len(seen) == 2 * len(model.scales)
    for ratio in seen:
        if teacher_input == 'lr':
            assert ratio is None
        else:
            assert ratio.tolist() == [1.0, 0.5, 1.0, 0.75]


def test_ctc_logit_kd_aligns_a_padded_students_frames_to_the_teachers(teacher_ckpt):
    """The student's frames over its content, past which ResizePair padded
    the LR frame, are what the teacher's frames of the stretched HR read."""
    config = 'configs/dld_plate_ctc.py'
    cfg = tiny_dld_cfg(config, teacher_ckpt=teacher_ckpt(config))
    cfg['losses']['logit'] = dict(type='KLDivLoss', temperature=1.0)
    model = MODELS.build(cfg)
    t_logits = torch.randn(2, 12, 10)
    padded = torch.cat([t_logits, torch.randn(2, 12, 10)], dim=1)  # content: 12 of 24
    args = (dict(logits=padded), dict(logits=t_logits), torch.arange(2), [[1, 2, 3], [4, 5]])
    torch.testing.assert_close(model._logit_terms(*args, torch.full((2, ), 0.5)),
                               torch.zeros(2), atol=1e-6, rtol=0)
    assert (model._logit_terms(*args) > 0.1).all()  # the whole 24 over the teacher's 12


def test_padded_lr_frames_are_read_as_their_content_in_training_and_prediction(teacher_ckpt):
    """The student reads only the memory steps that show a padded frame's
    plate (valid_ratio), in the one padded pass over every scale as when it
    reads a scale alone, and the selector's grouped prediction as each
    scale's own."""
    model = build(teacher_ckpt(), scale_strategy='all')
    lr, hr, samples = plate_batch(6)
    ratios = [1.0, 0.5, 0.4, 1.0, 0.75, 0.6]
    for ds, ratio in zip(samples, ratios):
        ds.set_metainfo(dict(valid_ratio=ratio))
    seen = []
    score = model.student.decoder.score_sequences

    def spy(memory, targets, rows=None, unalignable_nll=None, memory_mask=None):
        seen.append((rows, memory_mask[rows].sum(1)))
        return score(memory, targets, rows, unalignable_nll, memory_mask=memory_mask)

    model.student.decoder.score_sequences = spy
    model.train()
    model(lr, samples, mode='loss', inputs_hr=hr)
    (rows, steps), = seen  # one pass over every scale: the steps each row reads
    widths = [model.student.forward_encoder(model.resize(lr[:1], s))['encoder_out'].shape[1]
              for s in model.scales]
    # 'all': the memories are the scales in order, each of the 6 images in order
    expected = [max(1, math.ceil(ratios[r % 6] * widths[r // 6] - 1e-6)) for r in rows.tolist()]
    assert steps.tolist() == expected and steps.min() < min(widths)
    del model.student.decoder.score_sequences

    model.eval()
    for i in range(len(model.scales)):
        model.selector.decide = lambda logits, i=i: (logits, torch.tensor([i, 0, 1, 2, 3, 4]))
        grouped = model.predict(lr, copy.deepcopy(samples), reread={})
        for j, ds in enumerate(grouped):
            own = model.student.predict(model.resize(lr[j:j + 1], ds.pred_scale),
                                        copy.deepcopy(samples[j:j + 1]))[0]
            assert ds.pred_text == own.pred_text
            assert ds.pred_score == pytest.approx(own.pred_score, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize('decisions', ['gumbel', 'expected'])
def test_a_selector_of_the_wrong_shape_is_named(teacher_ckpt, decisions):
    """A selector of one's own giving one logit too many failed with an
    IndexError deep in the loss (or the selector loss), naming no selector."""
    model = build(teacher_ckpt(), selector_decisions=decisions, scale_strategy='all')
    assert model.train_selector
    model.train()
    lr, hr, samples = plate_batch(4)
    k = len(model.scales)
    forward = model.selector.forward
    model.selector.forward = lambda x: torch.cat([forward(x), forward(x)[:, :1]], 1)
    with pytest.raises(ValueError, match=rf'model.selector \(\w+\) on 4 image\(s\) and {k} '
                                         rf'scales .* gave logits \(4, {k + 1}\)'):
        model(lr, samples, mode='loss', inputs_hr=hr)


def test_a_selector_of_the_wrong_shape_is_refused_as_the_model_is_built(teacher_ckpt):
    """It was found at the first training step, after the loaders started
    (an extension journey); the selector's statistics are left as they are."""
    import torch.nn as nn

    from dld.models.distillers.distiller_checks import PartContractError

    @MODELS.register_module(force=True)
    class TwoLogitSelector(nn.Module):
        def __init__(self, scales, **kwargs):
            super().__init__()
            self.norm = nn.BatchNorm2d(3)
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(self.norm(x).mean((2, 3)))

        def decide(self, logits):
            return logits, logits.argmax(1)

    with pytest.raises(PartContractError, match=r'model.selector \(TwoLogitSelector\) on 2 '
                       r'image\(s\) and \d scales .* gave logits \(2, 2\)'):
        build(teacher_ckpt(), selector=dict(type='TwoLogitSelector', _delete_=True))
    model = build(teacher_ckpt())
    assert model.selector.training  # checked in eval mode, put back
    assert all(int(m.num_batches_tracked) == 0 for m in model.selector.modules()
               if isinstance(m, nn.BatchNorm2d))


def test_a_role_loss_that_ignores_reduction_override_is_named(teacher_ckpt):
    """A scalar per call would be broadcast over the images, silently."""
    model = build(teacher_ckpt(), losses=dict(
        tiny_dld_cfg()['losses'], logit=dict(type='KLDivLoss', loss_weight=1.0)))
    model.train()
    lr, hr, samples = plate_batch(4)
    model(lr, samples, mode='loss', inputs_hr=hr)  # as shipped: one value per image
    reduce_anyway = model.logit_loss.forward
    model.logit_loss.forward = lambda *a, reduction_override=None, **kw: reduce_anyway(
        *a, **kw).mean()
    with pytest.raises(ValueError, match=r"model.losses.logit \(KLDivLoss\) gave a value of "
                                         r"shape \(\) for \d image\(s\)"):
        model(lr, samples, mode='loss', inputs_hr=hr)


@pytest.mark.parametrize('role, call', [
    ('feature', 'def forward(self, student, teacher):'),
    ('skd', 'def forward(self, beam_nll, scores, weight=None):'),
    ('logit', 'def forward(self, s, t, reduction_override=None):'),  # no mask
])
def test_a_role_loss_that_cannot_take_its_call_is_refused_as_the_model_is_built(
        teacher_ckpt, role, call):
    """A feature loss of one's own without ``reduction_override`` failed at
    the first step with a traceback through MMEngine's loops (an extending
    journey)."""
    import torch.nn as nn

    from dld.models.distillers.distiller_checks import PartContractError
    namespace = {}
    exec(f'{call}\n    return student.sum()', namespace)  # noqa: S102 - the signature is the test
    loss_type = type('OwnCallLoss', (nn.Module, ), dict(forward=namespace['forward']))
    MODELS.register_module(module=loss_type, force=True)
    with pytest.raises(PartContractError, match=rf'model.losses.{role} \(OwnCallLoss\) cannot '
                       rf'take the call of the {role} role, loss\(.*\): '):
        build(teacher_ckpt(), losses=dict(tiny_dld_cfg()['losses'],
                                          **{role: dict(type='OwnCallLoss')}))


def test_a_feature_loss_giving_a_value_per_position_is_named_with_its_level(teacher_ckpt):
    # the levels' terms were summed first: a size mismatch, naming no loss
    model = build(teacher_ckpt())
    model.train()
    lr, hr, samples = plate_batch(4)
    per_image = model.feature_loss.forward
    model.feature_loss.forward = lambda s, t, **kw: per_image(
        s, t, **kw)[:, None].expand(-1, s[0].numel())
    with pytest.raises(ValueError, match=r'model.losses.feature \(\w+\) gave a value of shape '
                                         r'\(\d+, \d+\) at the backbone level'):
        model(lr, samples, mode='loss', inputs_hr=hr)


def test_settings_a_selector_makes_meaningless_are_refused_or_said(teacher_ckpt, caplog):
    # fixed_scale beside a selector was ignored without a word
    with pytest.raises(ValueError, match='fixed_scale=0.6 is the one scale of a run without a '
                                         'selector.*force_scale'):
        build(teacher_ckpt(), fixed_scale=0.6)
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        build(teacher_ckpt(), cost_power=3.0)  # the default cost is 'flops'
    finally:
        logger.removeHandler(caplog.handler)
    assert "cost_power=3.0 is the exponent of cost='scale_pow'" in caplog.text


@pytest.mark.parametrize('setting', [dict(loss_weight=2.0), dict(label_smoothing=0.1)])
def test_task_loss_settings_the_distiller_does_not_read_are_refused(teacher_ckpt, setting):
    # its task term is the decoder's plain NLL at weight 1: these were ignored
    cfg = tiny_dld_cfg(teacher_ckpt=teacher_ckpt())
    cfg['student']['decoder']['module_loss'].update(setting)
    with pytest.raises(ValueError, match=f'module_loss sets .*{next(iter(setting))}'):
        MODELS.build(cfg)


def test_each_levels_connector_is_configurable(teacher_ckpt):
    # they were built as FeatureMapConnector / SequenceConnector, no option
    model = build(teacher_ckpt(), connectors=dict(backbone=dict(with_bn=True),
                                                  encoder=dict(learned=False)))
    assert isinstance(model.connectors['backbone'].proj[-1], torch.nn.BatchNorm2d)
    assert isinstance(model.connectors['encoder'].proj, torch.nn.Identity)
    model.train()
    lr, hr, samples = plate_batch(4)
    assert torch.isfinite(model(lr, samples, mode='loss', inputs_hr=hr)['loss_feature'])
    with pytest.raises(KeyError, match=r"DLDDistiller.connectors: unknown key\(s\) \['neck'\]"):
        build(teacher_ckpt(), connectors=dict(neck=dict(with_bn=True)))


@pytest.mark.parametrize('kwargs', [dict(skd_topk=3.5), dict(skd_beam_width=4.0),
                                    dict(skd_topk=True)])
def test_a_top_k_or_beam_width_that_is_no_integer_is_refused_when_built(teacher_ckpt, kwargs):
    """3.5 failed in the first step, in torch's topk."""
    with pytest.raises(TypeError, match=f'{next(iter(kwargs))} must be an integer'):
        build(teacher_ckpt(), **kwargs)


def _build_warnings(teacher_ckpt, **overrides):
    with mock.patch('dld.models.distillers.distiller_checks.print_log') as log:
        build(teacher_ckpt(), **overrides)
    return [c.args[0] for c in log.call_args_list]


def test_a_forced_scale_without_its_own_batchnorm_statistics_is_warned_of(teacher_ckpt):
    """tools/test.py with model.test_cfg.force_scale=0.5 on a 1.0/0.6/0.4
    student read 0 %, silently (infer.py --scale warned)."""
    [said] = _build_warnings(teacher_ckpt, test_cfg=dict(force_scale=0.7))
    assert said.startswith('model.test_cfg.force_scale=0.7 is none of the scales the student '
                           'was trained at (1, 0.8, 0.6, 0.5, 0.4, 0.3): it reads there with '
                           'the BatchNorm statistics of 0.8')
    assert _build_warnings(teacher_ckpt, test_cfg=dict(force_scale=0.6)) == []
    assert _build_warnings(teacher_ckpt, test_cfg=dict(force_scale=0.6002)) == []  # 0.6's size
    [said] = _build_warnings(teacher_ckpt, test_cfg=dict(
        force_scale=0.6, reread=dict(min_score=0.9, scales=[1.0])))
    assert 'so model.test_cfg.reread is not used' in said
    [said] = _build_warnings(teacher_ckpt, test_cfg=dict(  # the bias shifts no selector run
        force_scale=0.6, selector_bias=[0.0, 0.0, 0.0, 0.0, 0.0, 1.0]))
    assert 'so model.test_cfg.selector_bias is not used' in said


def test_scales_given_as_a_string_or_to_the_selector_apart_are_refused(teacher_ckpt):
    """'1.0,0.5' was "could not convert string to float: '.'"; a selector's
    own scales were replaced by the distiller's without a word (an extending
    journey)."""
    with pytest.raises(TypeError, match=r"model.scales must be a tuple of numbers, e.g. "
                                        r"\(1.0, 0.6, 0.3\), got '1.0,0.5'"):
        build(teacher_ckpt(), scales='1.0,0.5')
    # an empty list named no setting ("ResolutionSelector needs at least one scale")
    with pytest.raises(ValueError, match=r'^model.scales is empty: give the candidate scales'):
        build(teacher_ckpt(), scales=[])
    selector = tiny_dld_cfg()['selector']
    with pytest.raises(ValueError, match=r'model.selector.scales=\(1.0, 0.5\) differs from '
                                         r'model.scales=\(1.0, 0.6\): the selector picks'):
        build(teacher_ckpt(), scales=(1.0, 0.6), selector=dict(selector, scales=(1.0, 0.5)))
    model = build(teacher_ckpt(), scales=(1.0, 0.6), selector=dict(selector, scales=[1, 0.6]))
    assert model.selector.scales == (1.0, 0.6)  # the same scales, written otherwise



def test_a_ctc_student_s_feature_loss_needs_no_mask(teacher_ckpt):
    """Without a decoder level (a CTC student has no decoder states) the
    feature loss is called without mask=: one without it was refused (a
    review)."""
    import torch.nn as nn

    from dld.models.distillers.distiller_checks import PartContractError

    class NoMaskLoss(nn.Module):
        def forward(self, student, teacher, reduction_override=None):
            return (student - teacher).pow(2).flatten(1).mean(1)

    MODELS.register_module(module=NoMaskLoss, force=True)
    losses = dict(tiny_dld_cfg('configs/dld_plate_ctc.py')['losses'],
                  feature=dict(type='NoMaskLoss'))
    model = MODELS.build(tiny_dld_cfg('configs/dld_plate_ctc.py', teacher_ckpt=None,
                                      losses=losses))
    assert 'decoder' not in model.connectors
    with pytest.raises(PartContractError, match=r"model.losses.feature \(NoMaskLoss\) cannot "
                       r"take the call of the feature role, loss\(student, teacher, mask=None"):
        build(teacher_ckpt(), losses=dict(tiny_dld_cfg()['losses'],
                                          feature=dict(type='NoMaskLoss')))


def test_a_selector_without_scales_or_decide_is_refused_as_the_model_is_built(teacher_ckpt):
    """A selector of one's own taking ``num_scales`` was refused as "got an
    unexpected keyword argument 'scales'" with a hint to look in the config,
    which sets no ``scales``: the distiller passes them. One without
    ``decide`` was built, and failed at the first step with an
    AttributeError (or the temperature hook's "no tau") after the loaders
    had started (a contributor's journey)."""
    import torch.nn as nn

    from dld.models.distillers.distiller_checks import PartContractError

    @MODELS.register_module(force=True)
    class NumScalesSelector(nn.Module):
        def __init__(self, num_scales=3):
            super().__init__()
            self.fc = nn.Linear(3, num_scales)

        def forward(self, x):
            return self.fc(x.mean((2, 3)))

    @MODELS.register_module(force=True)
    class NoDecideSelector(NumScalesSelector):
        def __init__(self, scales):
            super().__init__(len(scales))

    @MODELS.register_module(force=True)
    class BadDecideSelector(NoDecideSelector):
        def decide(self, logits, hard=True):
            return logits[:, :1], logits.argmax(1)

    with pytest.raises(PartContractError, match=r'model.selector \(NumScalesSelector\) takes '
                       r'no `scales`: the distiller builds its selector with '
                       r'scales=model.scales'):
        build(teacher_ckpt(), selector=dict(type='NumScalesSelector'))
    with pytest.raises(PartContractError, match=r'model.selector \(NoDecideSelector\) has no '
                       r'decide\(logits, hard=True\)'):
        build(teacher_ckpt(), selector=dict(type='NoDecideSelector'))
    with pytest.raises(PartContractError, match=r'model.selector \(BadDecideSelector\) .* gave '
                       r'from decide\(\) decisions \(2, 1\)'):
        build(teacher_ckpt(), selector=dict(type='BadDecideSelector'))

    @MODELS.register_module(force=True)
    class KwargsSelector(BadDecideSelector):
        def __init__(self, **kwargs):
            super().__init__(kwargs['scales'])

        def decide(self, logits, hard=True):
            index = logits.argmax(1)
            return torch.nn.functional.one_hot(index, logits.shape[1]).float(), index

    model = build(teacher_ckpt(), selector=dict(type='KwargsSelector'))
    assert model.selector.fc.out_features == len(model.scales)


def test_checking_the_selector_s_decisions_at_build_draws_no_random_number(teacher_ckpt):
    """A selector reading with Gumbel noise (gumbel_at_test) is asked for
    decisions as the model is built: the seeded state is left as it was."""
    after = []
    for noisy in (False, True):
        build(teacher_ckpt(), selector=dict(type='ResolutionSelector', gumbel_at_test=noisy))
        after.append(torch.rand(3))
    assert torch.equal(*after)
