"""Distillation terms of one's own: ``model.losses.extra``, each under its name.

Why: the four roles (skd, feature, logit, selector) each take one loss; a
method on top of DLD's (attention transfer, a relation loss on decoder
states) had no place of its own: it shared ``loss_feature`` with the L2 as
a module summing both, or copied the distiller's ``loss``. A term here is
logged as ``loss_<name>``, weighted per image and scale as the others are,
and handed the student's and the teacher's outputs of the images read at
one scale, raw: the term aligns them as it needs (``dld.models.connectors``
has the resizes the feature role uses).
"""
from collections.abc import Mapping
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from dld.registry import MODELS

from .distiller_checks import check_loss_call

#: Names the distiller's own terms and logs use: not free for a term of one's own.
RESERVED_NAMES = ('task', 'skd', 'feature', 'logit', 'aux', 'score', 'selector', 'extra')

#: The teacher's outputs a term of one's own is handed (docs/customize.md's table).
TEACHER_KEYS = ('backbone_out', 'encoder_out', 'logits', 'decoder_hidden')


def build_role_loss(role: str, cfg: Optional[dict]) -> Optional[nn.Module]:
    """The loss of ``model.losses.<role>`` (None for none); a setting it
    refuses is named with the role (``loss_weight must be ...`` named none
    of the three losses that have one)."""
    if cfg is None:
        return None
    if isinstance(cfg, Mapping) and 'type' not in cfg:  # MMEngine's KeyError ended in 'None'
        raise ValueError(f'model.losses.{role} names no type: {dict(cfg)}')
    from dld.utils.registry_hints import registry_hints
    try:
        # the hints first: prefixed with the role, a mistyped argument no
        # longer read as one ("Did you mean 'loss_weight'?", or _delete_)
        with registry_hints():
            return MODELS.build(cfg)
    except (TypeError, ValueError) as err:
        try:
            named = type(err)(f'model.losses.{role}: {err}')
        except Exception:  # noqa: BLE001 - an error type of other arguments: as it was
            raise err from None
        # the frames of the class that refused it: the tools name its line, not this one
        raise named.with_traceback(err.__traceback__) from err


def build_extra_terms(cfg) -> nn.ModuleDict:
    """``model.losses.extra``: ``dict(<name>=<loss config>, ...)``; a name
    set to None (``--cfg-options model.losses.extra.at=None``) is left out."""
    terms = nn.ModuleDict()
    if cfg is None:
        return terms
    if not isinstance(cfg, Mapping):
        raise TypeError('model.losses.extra is a dict of terms by name, '
                        f"dict(at=dict(type='MyLoss')), got {type(cfg).__name__}")
    for name, loss_cfg in cfg.items():
        where = f'model.losses.extra.{name}'
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f'{where}: a term is named by an identifier (logged as '
                             f'loss_<name>), got {name!r}')
        if name in RESERVED_NAMES:
            raise ValueError(f'{where}: {name!r} is a term of the distiller\'s own '
                             f'(logged as loss_{name}): name yours otherwise')
        if loss_cfg is None:
            continue
        loss = build_role_loss(f'extra.{name}', loss_cfg)
        check_loss_call('extra', loss, where=where)
        try:
            terms[name] = loss
        except KeyError as err:  # a name nn.Module has as an attribute ('training')
            raise ValueError(f'{where}: {err.args[0]}; name the term otherwise') from None
    return terms


def extra_term_inputs(student: dict, teacher: dict, idx: torch.Tensor, scale: Optional[float],
                      targets: List[List[int]], content_ratio: Optional[torch.Tensor],
                      step_mask: Optional[torch.Tensor]) -> Tuple[Dict, Dict]:
    """What a term of one's own is called with, for the ``n`` images ``idx``
    read at ``scale``: the student's outputs (its own sizes) with the
    reading's context, and the teacher's outputs of the same images.

    ``student``: ``backbone_out`` ``(n, C, h, w)``, ``encoder_out``
    ``(n, t, D)``, ``logits`` ``(n, L, K)`` and ``decoder_hidden``
    ``(n, L, D)`` (None for CTC) on the ground truth, teacher-forced;
    ``scale``; ``content_ratio`` ``(n,)`` the share of the student's width
    that the teacher's input shows (None: all of it); ``step_mask``
    ``(n, L)`` True on an attention decoder's target steps (None for CTC);
    ``targets``, the labels as dictionary indices. ``teacher``: the same
    four outputs of the teacher, teacher-forced on the ground truth."""
    s = dict(backbone_out=student['backbone_out'], encoder_out=student['encoder_out'],
             logits=student['logits'], decoder_hidden=student.get('decoder_hidden'),
             scale=scale, content_ratio=content_ratio, step_mask=step_mask, targets=targets)
    t = {key: None if teacher.get(key) is None else teacher[key][idx] for key in TEACHER_KEYS}
    return s, t
