"""DLDDistiller's loss terms, recomputed by hand from the model's parts.

Each expected value is built from the teacher's and the student's own
outputs (teacher-forced logits, features, beam search), the connectors and
the functional losses, following what the docstrings and docs/method.md
say each term is:

* the student's losses at the scales it ran are averaged per image
  (``student_scale_weighting='uniform'``) or taken at the selected scale only
  (``'selected'``), then averaged over the images;
* task: the student's NLL of the ground truth (end token included) per
  character; SKD: ``sum_j w_j NLL(beam_j)``, ``w`` the teacher's sequence
  probabilities renormalised over its beams;
* feature: ``feature_levels``-weighted sum over the backbone map, the encoder
  states and the decoder hidden states (padding steps masked), the
  student's side through its connector;
* logit KD: the functional loss on the student's and the teacher's
  per-step logits (attention: padding steps masked; CTC: every frame, the
  student's interpolated to the teacher's), DKD's target being the
  teacher's most likely class.

The student runs in eval mode, so that an image's outputs do not depend on
which other images are read at the same scale ('sampled').
"""
import pytest
import torch
import torch.nn.functional as F

from dld.models.losses.functional import dkd_loss, dml_loss, kl_div_loss
from dld.models.selectors import resize_to_scale
from dld.registry import MODELS
from dld.structures import PlateDataSample

from .conftest import record_computed, tiny_dld_cfg

ATTN, CTC = 'configs/dld_plate.py', 'configs/dld_plate_ctc.py'
#: Labels of different lengths: a per-character mean or a step mask must
#: count each image's own characters.
TEXTS = ['AB12', 'XYZ9A87', 'K7', 'QWE45']
SCALES = (1.0, 0.6, 0.3)
#: The selector's pinned choice for each image (indices into SCALES).
PICKS = torch.tensor([0, 2, 1, 2])
CLOSE = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny tensors: intra-op threads only contend on a loaded 2-core machine
    (the loss of a step took 100x longer there)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(teacher_path: str, config: str = ATTN, **overrides):
    torch.manual_seed(0)
    model = MODELS.build(tiny_dld_cfg(config, teacher_ckpt=teacher_path, **overrides))
    model.train()
    model.student.eval()
    return model


def batch(n: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    lr = torch.randn(n, 3, 48, 144, generator=g)
    hr = torch.randn(n, 3, 48, 144, generator=g)
    return lr, hr, [PlateDataSample(gt_text=TEXTS[i]) for i in range(n)]


def pin_selector(model, picks: torch.Tensor) -> None:
    """The selector's logits make ``picks`` its choice whatever the Gumbel noise."""
    k = len(model.scales)
    model.selector.forward = lambda x: 100.0 * F.one_hot(picks[:x.shape[0]], k).float()


def sequence_nll(logits: torch.Tensor, seqs, end_idx: int) -> torch.Tensor:
    """``-log p(seq)`` from teacher-forced logits ``(N, L, K)``: the log-probs
    of the sequence's characters and then its end token."""
    out = []
    for row, seq in zip(logits.log_softmax(-1), seqs):
        tokens = torch.tensor(list(seq) + [end_idx])
        out.append(-row[torch.arange(len(tokens)), tokens].sum())
    return torch.stack(out)


def label_steps(gt, length: int) -> torch.Tensor:
    """(n, length) True on each label's characters and its end token."""
    lens = torch.tensor([len(t) for t in gt])
    return torch.arange(length)[None, :] <= lens[:, None]


@torch.no_grad()
def hand_student_terms(model, lr, hr, gt):
    """(B, k) task (per-character NLL of the ground truth) and SKD before its
    loss_weight (teacher-probability-weighted NLL of the teacher's beams) at
    every scale."""
    student, teacher = model.student, model.teacher
    end = student.decoder.end_idx
    enc_t = teacher.forward_encoder(hr)['encoder_out']
    beams, scores = teacher.decoder.beam_search(enc_t, model.skd_beam_width, model.skd_topk)
    finite = torch.isfinite(scores)
    assert finite.any(1).all()
    weights = scores.softmax(1)  # the beams' probabilities renormalised (none: -inf, 0)
    b, k = len(gt), len(model.scales)
    task, skd = torch.zeros(b, k), torch.zeros(b, k)
    chars = torch.tensor([float(len(t)) for t in gt])
    for i, scale in enumerate(model.scales):
        x = resize_to_scale(lr, scale, base_hw=model.base_size)
        task[:, i] = sequence_nll(student.forward_features(x, targets=gt)['logits'], gt,
                                  end) / chars
        for j in range(scores.shape[1]):
            seqs = [list(beams[n][j]) if finite[n, j] else [] for n in range(b)]
            nll = sequence_nll(student.forward_features(x, targets=seqs)['logits'], seqs, end)
            skd[:, i] += torch.where(finite[:, j], weights[:, j] * nll, torch.zeros(()))
    return task, skd


def mean_over_read_scales(terms: torch.Tensor, read: torch.Tensor) -> torch.Tensor:
    """Mean over images of the mean over the scales each image is read at."""
    return torch.stack([terms[n][read[n]].mean() for n in range(terms.shape[0])]).mean()


SKD_WEIGHT = 0.5
STUDENT_LOSSES = dict(skd=dict(type='SequenceKDLoss', weighting='score', loss_weight=SKD_WEIGHT),
                      selector=dict(type='ResolutionSelectorLoss', gamma=0.1))


@pytest.mark.parametrize('strategy, weighting', [('all', 'uniform'), ('sampled', 'uniform'),
                                                 ('all', 'selected'), ('sampled', 'selected')])
def test_student_terms_are_each_images_mean_over_its_scales(teacher_ckpt, strategy, weighting):
    model = build(teacher_ckpt(), scales=SCALES, scale_strategy=strategy,
                  student_scale_weighting=weighting, losses=STUDENT_LOSSES)
    pin_selector(model, PICKS)
    computed = record_computed(model)
    lr, hr, samples = batch()
    losses = model(lr, samples, mode='loss', inputs_hr=hr)

    read, = computed
    rows = torch.arange(len(TEXTS))
    assert read[rows, PICKS].all()
    assert read.sum(1).tolist() == [len(SCALES) if strategy == 'all' else 2] * len(TEXTS)
    task, skd = hand_student_terms(model, lr, hr, model.student.encode_targets(TEXTS))
    if weighting == 'selected':  # the selected scale only, whatever else was read
        read = torch.zeros_like(read)
        read[rows, PICKS] = True
    torch.testing.assert_close(losses['loss_task'], mean_over_read_scales(task, read), **CLOSE)
    torch.testing.assert_close(losses['loss_skd'],
                               SKD_WEIGHT * mean_over_read_scales(skd, read), **CLOSE)


def test_gt_nll_selector_score_is_the_students_nll_of_the_ground_truth(teacher_ckpt):
    """``selector_score='gt_nll'``: each scale's score is the student's NLL of
    the ground truth there; the selector's score part is that at its (one-hot)
    choice, averaged over the images.

    The docs say only "negative log-likelihood" (docstring) or "CE" (the
    public code's, docs/method.md) of the ground truth; the code uses the
    task term, the NLL per character. The first check holds for any
    normalisation per image, the second pins the task term's."""
    model = build(teacher_ckpt(), scales=SCALES, scale_strategy='all', selector_score='gt_nll',
                  losses=STUDENT_LOSSES)
    pin_selector(model, PICKS)
    seen = {}
    selector_loss = model.selector_loss.forward

    def spy(decisions, score, *args, **kwargs):
        seen['decisions'], seen['score'] = decisions, score
        return selector_loss(decisions, score, *args, **kwargs)

    model.selector_loss.forward = spy
    lr, hr, samples = batch()
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    gt = model.student.encode_targets(TEXTS)
    task, _ = hand_student_terms(model, lr, hr, gt)
    assert torch.equal(seen['decisions'].detach(), F.one_hot(PICKS, len(SCALES)).float())
    nll = task * torch.tensor([[float(len(t))] for t in gt])  # of the whole sequence
    per_image = seen['score'] / nll  # one factor per image, whatever the scale
    torch.testing.assert_close(per_image, per_image[:, :1].expand_as(per_image), rtol=1e-4,
                               atol=0)
    torch.testing.assert_close(seen['score'], task, **CLOSE)
    torch.testing.assert_close(losses['selector_score'],
                               task[torch.arange(len(TEXTS)), PICKS].mean(), **CLOSE)


def per_image_mse(student: torch.Tensor, teacher: torch.Tensor,
                  steps: torch.Tensor = None) -> torch.Tensor:
    """Mean squared difference per image, over every element or, for
    sequences, over the valid ``steps`` (n, L) only."""
    sq = (student - teacher) ** 2
    if steps is None:
        return sq.flatten(1).mean(1)
    return (sq.mean(-1) * steps).sum(1) / steps.sum(1)


def test_feature_term_weighs_each_level_as_feature_levels_says(teacher_ckpt):
    levels = dict(backbone=1.0, encoder=0.5, decoder=2.0)
    model = build(teacher_ckpt(), selector=None, fixed_scale=0.6, feature_levels=levels,
                  losses=dict(feature=dict(type='FeatureDistanceLoss', mode='l2',
                                           loss_weight=1.5)))
    lr, hr, samples = batch()
    losses = model(lr, samples, mode='loss', inputs_hr=hr)

    gt = model.student.encode_targets(TEXTS)
    conn = model.connectors
    with torch.no_grad():
        t = model.teacher.forward_features(hr, targets=gt)
        s = model.student.forward_features(resize_to_scale(lr, 0.6, base_hw=model.base_size),
                                           targets=gt)
        t_map, t_enc, t_hid = t['backbone_out'], t['encoder_out'], t['decoder_hidden']
        assert s['backbone_out'].shape[-1] < t_map.shape[-1]  # the connector resizes
        backbone = per_image_mse(conn['backbone'](s['backbone_out'], size=t_map.shape[-2:]),
                                 t_map)
        encoder = per_image_mse(conn['encoder'](s['encoder_out'], length=t_enc.shape[1]), t_enc)
        s_hid = conn['decoder'](s['decoder_hidden'], length=t_hid.shape[1])
        steps = label_steps(gt, t_hid.shape[1])
        decoder = per_image_mse(s_hid, t_hid, steps)
        # Every level counts, and the padding steps would change the decoder's.
        assert (backbone > 0).all() and (encoder > 0).all() and (decoder > 0).all()
        assert not torch.allclose(per_image_mse(s_hid, t_hid), decoder)
    per_image = (levels['backbone'] * backbone + levels['encoder'] * encoder +
                 levels['decoder'] * decoder)
    torch.testing.assert_close(losses['loss_feature'], 1.5 * per_image.mean(), **CLOSE)


LOGIT_LOSSES = [
    (dict(type='KLDivLoss', temperature=2.0, loss_weight=0.7),
     lambda s, t, mask, target: kl_div_loss(s, t, mask, temperature=2.0, reduction='none')),
    (dict(type='DMLLoss', temperature=1.5, loss_weight=1.0),
     lambda s, t, mask, target: dml_loss(s, t, mask, temperature=1.5, reduction='none')),
    (dict(type='DKDLoss', alpha=0.5, beta=8.0, temperature=4.0, loss_weight=0.3),
     lambda s, t, mask, target: dkd_loss(s, t, target, mask, alpha=0.5, beta=8.0,
                                         temperature=4.0, reduction='none')),
]


@pytest.mark.parametrize('config', [ATTN, CTC])
@pytest.mark.parametrize('logit, functional', LOGIT_LOSSES,
                         ids=[cfg['type'] for cfg, _ in LOGIT_LOSSES])
def test_logit_term_is_the_functional_loss_against_the_teacher(teacher_ckpt, config, logit,
                                                               functional):
    # A student of its own weights, so that its most likely classes are not the teacher's.
    model = build(teacher_ckpt(config), config, selector=None, fixed_scale=0.5,
                  init_student_from_teacher=False, losses=dict(logit=logit))
    lr, hr, samples = batch()
    losses = model(lr, samples, mode='loss', inputs_hr=hr)

    gt = model.student.encode_targets(TEXTS)
    with torch.no_grad():
        t_logits = model.teacher.forward_features(hr, targets=gt)['logits']
        s_logits = model.student.forward_features(
            resize_to_scale(lr, 0.5, base_hw=model.base_size), targets=gt)['logits']
        if model.student.decoder.logits_per_frame:  # CTC: every frame, aligned by time
            assert s_logits.shape[1] < t_logits.shape[1]
            s_logits = F.interpolate(s_logits.transpose(1, 2), size=t_logits.shape[1],
                                     mode='linear', align_corners=False).transpose(1, 2)
            mask = torch.ones(t_logits.shape[:2], dtype=torch.bool)
        else:  # attention: the label's characters and its end token
            mask = label_steps(gt, t_logits.shape[1])
            assert not mask.all()
        target = t_logits.argmax(-1)  # the teacher's most likely class at each step
        assert (s_logits.argmax(-1) != target)[mask].any()
        expected = logit['loss_weight'] * functional(s_logits, t_logits, mask, target).mean()
    assert expected > 0
    torch.testing.assert_close(losses['loss_logit'], expected, **CLOSE)
