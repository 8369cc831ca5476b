"""Why a checkpoint's decoder does not fit: a dictionary of another size.

A decoder's classifier (and an attention decoder's token embedding) has one
row per character plus its special tokens, so weights trained with another
character set differ there and nowhere else; the loading error would
otherwise suggest other widths.
"""
from typing import Dict

import torch
from torch import nn


def other_dictionary(model: nn.Module, state: Dict[str, torch.Tensor]) -> str:
    """A sentence naming the character counts when the weights of ``state``
    that differ in shape from ``model``'s all lie in a decoder and differ
    in one dimension, by the same number of rows (the classifier's classes,
    the embedding's tokens); '' otherwise."""
    own = model.state_dict()
    differ = [k for k, v in state.items()
              if k in own and hasattr(v, 'shape') and tuple(v.shape) != tuple(own[k].shape)]
    if not differ:
        return ''
    decoders = {name: m for name, m in model.named_modules()
                if hasattr(getattr(m, 'dictionary', None), 'num_chars')}
    if not decoders:
        return ''
    deltas = set()
    for key in differ:
        if not any(key.startswith(f'{name}.') for name in decoders):
            return ''
        mine, saved = tuple(own[key].shape), tuple(state[key].shape)
        sizes = [(a, b) for a, b in zip(mine, saved) if a != b]
        if len(mine) != len(saved) or len(sizes) != 1:
            return ''
        deltas.add(sizes[0][0] - sizes[0][1])
    if len(deltas) != 1:
        return ''
    chars = next(iter(decoders.values())).dictionary.num_chars
    return (f'its decoder was trained with {chars - deltas.pop()} characters, the config\'s '
            f'dictionary holds {chars}: use the dictionary it was trained with (its '
            "meta['dataset_meta']['chars'])")
