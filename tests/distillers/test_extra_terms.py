"""model.losses.extra: distillation terms of one's own, each under its name."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dld.models.distillers.distiller_checks import PartContractError
from dld.registry import MODELS

from .test_dld_loss_terms import PICKS, SCALES, STUDENT_LOSSES, batch, build, pin_selector


@MODELS.register_module(name='AttentionMapTransferForTests', force=True)
class AttentionMapTransfer(nn.Module):
    """Attention transfer (Zagoruyko & Komodakis): the distance of the
    normalised channel-mean of squares of the backbone maps, the student's
    resized to the teacher's; records what it was handed."""

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.gain = nn.Parameter(torch.ones(()))  # a term may learn too
        self.seen = []

    @staticmethod
    def attention(x: torch.Tensor, size=None) -> torch.Tensor:
        a = x.pow(2).mean(dim=1, keepdim=True)
        if size is not None:
            a = F.interpolate(a, size=size, mode='bilinear', align_corners=False)
        return F.normalize(a.flatten(1), dim=1)

    def forward(self, student, teacher, reduction_override=None):
        self.seen.append((student, teacher))
        t = self.attention(teacher['backbone_out'])
        s = self.attention(student['backbone_out'], teacher['backbone_out'].shape[-2:])
        return self.loss_weight * self.gain * (s - t).pow(2).sum(dim=1)


def test_a_term_is_logged_by_its_name_and_weighted_per_image_and_scale(teacher_ckpt):
    losses = dict(STUDENT_LOSSES, extra=dict(at=dict(type='AttentionMapTransferForTests',
                                                     loss_weight=2.0)))
    model = build(teacher_ckpt(), scales=SCALES, scale_strategy='all',
                  student_scale_weighting='uniform', losses=losses)
    pin_selector(model, PICKS)
    lr, hr, samples = batch()
    out = model(lr, samples, mode='loss', inputs_hr=hr)
    assert {'loss_task', 'loss_skd', 'loss_at'} <= set(out)

    term = model.extra_losses['at']
    with torch.no_grad():  # by hand: every scale read for every image, their mean
        t_map = model.teacher.forward_encoder(hr)['backbone_out']
        per_scale = [term(dict(backbone_out=model.student.forward_encoder(
            model.resize(lr, s))['backbone_out']), dict(backbone_out=t_map))
            for s in SCALES]
    expected = torch.stack(per_scale, dim=1).mean(dim=1).mean()
    torch.testing.assert_close(out['loss_at'].detach(), expected, rtol=1e-4, atol=1e-6)

    # what a term is handed: each scale's images, the student's own sizes, the context
    seen = term.seen[:len(SCALES)]
    assert [s['scale'] for s, _ in seen] == list(SCALES)
    for student, teacher in seen:
        n = student['backbone_out'].shape[0]
        assert teacher['backbone_out'].shape[0] == n == len(student['targets'])
        assert student['logits'].shape[:2] == student['step_mask'].shape
        assert teacher['logits'].shape == student['logits'].shape
        assert teacher['decoder_hidden'] is not None and student['content_ratio'] is None
    assert seen[-1][0]['backbone_out'].shape[-1] < seen[0][0]['backbone_out'].shape[-1]

    out['loss_at'].backward()
    assert term.gain.grad is not None and term.gain.grad.abs() > 0
    assert any(p.grad is not None for p in model.student.backbone.parameters())


def test_a_term_set_to_none_is_left_out_and_a_frozen_student_freezes_the_terms(teacher_ckpt):
    off = dict(STUDENT_LOSSES, extra=dict(at=None))
    model = build(teacher_ckpt(), scales=SCALES, losses=off)
    lr, hr, samples = batch()
    assert 'loss_at' not in model(lr, samples, mode='loss', inputs_hr=hr)
    on = dict(STUDENT_LOSSES, extra=dict(at=dict(type='AttentionMapTransferForTests')))
    selector_stage = build(teacher_ckpt(), scales=SCALES, losses=on, train_student=False)
    assert not selector_stage.extra_losses['at'].gain.requires_grad
    assert 'loss_at' not in selector_stage(lr, samples, mode='loss', inputs_hr=hr)


class NoReduction(nn.Module):
    def forward(self, student, teacher):
        return student['encoder_out'].sum()


@pytest.mark.parametrize('extra, error, match', [
    (dict(skd=dict(type='AttentionMapTransferForTests')), ValueError,
     r"model.losses.extra.skd: 'skd' is a term of the distiller's own"),
    ({'at-2': dict(type='AttentionMapTransferForTests')}, ValueError,
     r'a term is named by an identifier'),
    (dict(training=dict(type='AttentionMapTransferForTests')), ValueError,
     r'model.losses.extra.training: .*name the term otherwise'),
    ([dict(type='AttentionMapTransferForTests')], TypeError,
     r'model.losses.extra is a dict of terms by name'),
    (dict(at=dict(loss_weight=1.0)), ValueError,
     r"model.losses.extra.at names no type: \{'loss_weight': 1.0\}"),
    (dict(sum=dict(type=NoReduction)), PartContractError,
     r"model.losses.extra.sum \(NoReduction\) cannot take the call of the extra role, "
     r"loss\(student, teacher, reduction_override='none'\)"),
])
def test_a_term_the_distiller_cannot_use_is_refused_at_build(teacher_ckpt, extra, error, match):
    with pytest.raises(error, match=match):
        build(teacher_ckpt(), scales=SCALES, losses=dict(STUDENT_LOSSES, extra=extra))


def test_a_term_not_one_value_per_image_names_its_setting(teacher_ckpt):
    class Summed(AttentionMapTransfer):
        def forward(self, student, teacher, reduction_override=None):
            return super().forward(student, teacher).sum()

    MODELS.register_module(name='SummedTermForTests', module=Summed, force=True)
    model = build(teacher_ckpt(), scales=SCALES,
                  losses=dict(STUDENT_LOSSES, extra=dict(at=dict(type='SummedTermForTests'))))
    lr, hr, samples = batch()
    with pytest.raises(PartContractError, match=r'model.losses.extra.at \(Summed\) gave a '
                                                r'value of shape \(\)'):
        model(lr, samples, mode='loss', inputs_hr=hr)


def test_a_subclass_s_own_term_is_logged_by_its_name(teacher_ckpt):
    """A term added by overriding _terms_from_outputs was a KeyError: the
    per-scale table held the distiller's own names only."""
    model = build(teacher_ckpt(), scales=SCALES, losses=STUDENT_LOSSES)
    terms = model._terms_from_outputs

    def with_norm(out, idx, plan, teacher):
        found = terms(out, idx, plan, teacher)
        found['norm'] = out['encoder_out'].pow(2).mean(dim=(1, 2))
        return found

    model._terms_from_outputs = with_norm
    lr, hr, samples = batch()
    out = model(lr, samples, mode='loss', inputs_hr=hr)
    assert out['loss_norm'] > 0


def test_inference_loads_a_checkpoint_without_the_terms_weights(teacher_ckpt):
    """infer.py and test.py refused it, 'lacks 1 weight(s) the student/selector
    need' (a researcher's journey): inference never runs a term."""
    from dld.apis.model_loading import load_state
    on = dict(STUDENT_LOSSES, extra=dict(at=dict(type='AttentionMapTransferForTests')))
    model = build(teacher_ckpt(), scales=SCALES, losses=on)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('extra_losses.')}
    assert len(state) < len(model.state_dict())
    load_state(model, state, 'student.pth', is_distiller=True)


def test_a_term_in_half_precision_is_weighted_in_float32(teacher_ckpt):
    """The per-scale table took its first term's dtype: a bfloat16 term was
    stored and weighted in bfloat16 (a review)."""
    class HalfTerm(AttentionMapTransfer):
        def forward(self, student, teacher, reduction_override=None):
            return super().forward(student, teacher).to(torch.bfloat16)

    MODELS.register_module(name='HalfTermForTests', module=HalfTerm, force=True)
    model = build(teacher_ckpt(), scales=SCALES,
                  losses=dict(STUDENT_LOSSES, extra=dict(at=dict(type='HalfTermForTests'))))
    lr, hr, samples = batch()
    out = model(lr, samples, mode='loss', inputs_hr=hr)
    assert out['loss_at'].dtype == torch.float32 and out['loss_task'].dtype == torch.float32


def test_a_mistyped_argument_of_a_role_s_loss_is_hinted_and_located_in_its_class():
    """A role's loss given an argument it does not take (a typo, or the base's
    ``mode='l2'`` kept when the type was swapped without ``_delete_``) lost
    the hint every other module's gets (docs/customize.md): the role's prefix
    hid the message from it. And the tools named extra_terms.py, where the
    error was re-raised, as the line that refused the setting (a
    contributor's journey)."""
    import traceback

    from dld.models.distillers.extra_terms import build_role_loss
    from dld.utils.registry_hints import UnknownArgumentError

    with pytest.raises(UnknownArgumentError, match=r"^model.losses.feature: FeatureDistanceLoss"
                       r".__init__\(\) got an unexpected keyword argument 'loss_wieght'. Did "
                       r"you mean 'loss_weight'\?"):
        build_role_loss('feature', dict(type='FeatureDistanceLoss', loss_wieght=2.0))
    with pytest.raises(UnknownArgumentError, match=r"extra.at: AttentionMapTransfer.__init__"
                       r"\(\) got an unexpected keyword argument 'mode'.*_delete_=True"):
        build_role_loss('extra.at', dict(type='AttentionMapTransferForTests', mode='l2'))
    with pytest.raises(ValueError, match=r'^model.losses.skd: loss_weight must be') as info:
        build_role_loss('skd', dict(type='SequenceKDLoss', loss_weight=-1.0))
    where = traceback.extract_tb(info.value.__traceback__)[-1].filename
    assert not where.endswith('extra_terms.py'), where
