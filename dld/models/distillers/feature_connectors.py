"""The adapters that map the student's feature widths onto the teacher's.

Feature L2 compares student and teacher features level by level (backbone
map, encoder sequence, decoder hidden states); where their widths differ,
a connector per level projects the student's onto the teacher's.
"""
from typing import Dict, Tuple

import torch
import torch.nn as nn

from dld.registry import MODELS

#: Each feature level's default connector and the names of its widths.
CONNECTOR_KINDS = dict(backbone=('FeatureMapConnector', 'in_channels', 'out_channels'),
                       encoder=('SequenceConnector', 'in_dim', 'out_dim'),
                       decoder=('SequenceConnector', 'in_dim', 'out_dim'))


def build_connectors(student: nn.Module, teacher: nn.Module, base_size: Tuple[int, int],
                     cfgs: Dict[str, dict]) -> nn.ModuleDict:
    """One connector per level that both recognizers have (the decoder's
    where both decoders have hidden states), each its default merged with
    ``cfgs[level]``."""
    shapes_s = feature_dims(student, base_size)
    shapes_t = feature_dims(teacher, base_size)
    conns = nn.ModuleDict()
    for level, (kind, in_key, out_key) in CONNECTOR_KINDS.items():
        if not (shapes_s.get(level) and shapes_t.get(level)):
            continue
        cfg = dict(type=kind, **cfgs.get(level, {}))
        try:
            conns[level] = MODELS.build(cfg, default_args={in_key: shapes_s[level],
                                                           out_key: shapes_t[level]})
        except (TypeError, ValueError) as err:
            # it named the class alone: which level, and the widths it maps
            raise type(err)(f'model.connectors.{level}: {err} (the student\'s {level} '
                            f'gives {shapes_s[level]}, the teacher\'s '
                            f'{shapes_t[level]})') from None
    return conns


def feature_dims(model: nn.Module, base_size: Tuple[int, int]) -> Dict[str, int]:
    """Channel widths of a recognizer's feature levels, by a dry run."""
    from dld.utils.module_modes import evaluating
    with evaluating(model), torch.no_grad():
        x = torch.zeros(1, _model_in_channels(model), *base_size)
        feats = model.forward_features(x, targets=[[0]])
    dims = dict(backbone=feats['backbone_out'].shape[1],
                encoder=feats['encoder_out'].shape[-1])
    if feats.get('decoder_hidden') is not None:
        dims['decoder'] = feats['decoder_hidden'].shape[-1]
    return dims


def _model_in_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return 3
