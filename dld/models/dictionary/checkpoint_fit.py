"""Why a checkpoint's decoder does not fit: a dictionary of another size, or
of other characters.

A decoder's classifier (and an attention decoder's token embedding) has one
row per character plus its special tokens, so weights trained with another
character set differ there and nowhere else; the loading error would
otherwise suggest other widths.
"""
import logging
from typing import Dict, List

import torch
from mmengine.logging import print_log
from torch import nn


def dictionary_modules(model: nn.Module) -> Dict[str, nn.Module]:
    """The innermost modules of ``model`` that hold a dictionary (the decoders,
    not the recognisers that hand theirs on), by name ('' for ``model``
    itself)."""
    found = {name: m for name, m in model.named_modules()
             if hasattr(getattr(m, 'dictionary', None), 'num_chars')}
    return {name: m for name, m in found.items()
            if not any(other != name and (not name or other.startswith(f'{name}.'))
                       for other in found)}


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
    decoders = dictionary_modules(model)
    if not decoders:
        return ''
    deltas = set()
    for key in differ:
        if not any(key.startswith(f'{name}.' if name else '') for name in decoders):
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
            "meta['dataset_meta']['chars']), or, to train on the new one, map its rows "
            'by character first: python tools/remap_dictionary.py CHECKPOINT CONFIG OUT.pth')


#: The checkpoint meta key holding the characters its decoders were trained
#: with (:func:`decoder_chars`), written when a run saves.
DECODER_CHARS = 'decoder_chars'


def other_decoder_parts(owner: nn.Module, state: Dict[str, torch.Tensor],
                        prefix: str = '') -> str:
    """``"the checkpoint's decoder has the parts [...], the config's
    AttentionDecoder [...]"`` where the state's decoder (its keys under
    ``prefix + 'decoder.'``) has other parts than ``owner.decoder`` (an
    attention decoder's ``cell`` against a CTC head); '' where alike or the
    state holds no decoder."""
    start = f'{prefix}decoder.'

    def parts(keys, head: str) -> set:
        return {k[len(head):].split('.')[0] for k in keys
                if k.startswith(head) and '.' in k[len(head):]}
    theirs, ours = parts(state, start), parts(owner.state_dict(), 'decoder.')
    if not theirs or theirs == ours:
        return ''
    kind = type(getattr(owner, 'decoder', None)).__name__
    return (f"the checkpoint's decoder has the parts {sorted(theirs)}, the config's {kind} "
            f'{sorted(ours)}')


def decoder_chars(model: nn.Module) -> List[str]:
    """The characters of each decoder of ``model``, distinct and sorted: what
    each row of its classifier reads as. A dictionary of the same size but
    other characters (a ``dict_file`` made again after the data changed)
    fits every weight, so only this tells the two apart."""
    return sorted({''.join(m.dictionary.dict[:m.dictionary.num_chars])
                   for m in dictionary_modules(model).values()})


def other_chars(model: nn.Module, meta: dict, name: str, training: bool = False) -> str:
    """Why the weights of ``name`` would read other characters than
    ``model``'s decoders hold ('' when they would not, or the checkpoint
    does not say: saved before DLD recorded it). ``training``: the weights
    start a run (``load_from``, a teacher), which may fine-tune them on a
    dictionary of other characters once their rows are mapped by character
    (``tools/remap_dictionary.py``): said where the characters differ."""
    saved = meta.get(DECODER_CHARS)
    if not saved or not isinstance(saved, (list, tuple)):
        return ''
    other = [chars for chars in decoder_chars(model) if chars not in saved]
    if not other:
        return ''
    trained = repr(saved[0]) if len(saved) == 1 else ' and '.join(repr(c) for c in saved)
    said = (f'{name} was trained with decoder characters {trained}, the config\'s decoder '
            f'holds {other[0]!r}')
    if len(saved) != 1 or len(saved[0]) == len(other[0]) and set(saved[0]) == set(other[0]):
        return (f'{said}: each output would read as another character. Use the dictionary '
                '(dict_file) it was trained with')
    added = ''.join(c for c in other[0] if c not in saved[0])
    dropped = ''.join(c for c in saved[0] if c not in other[0])
    change = ' and '.join(part for part in (f'adds {added!r}' if added else '',
                                            f'drops {dropped!r}' if dropped else '') if part)
    if not training:
        return (f'{said} (the config\'s dictionary {change}): its outputs are rows of the '
                'trained characters. Use the dictionary (dict_file) it was trained with')
    keep = ('' if added else ' Labels of fewer characters need no other dictionary: the '
            'one it was trained with reads them.')
    return (f'{said}: the config\'s dictionary {change}, and the decoder\'s rows follow the '
            f'trained characters.{keep} To fine-tune on the new dictionary, map the rows by '
            'character first (each kept character keeps its row, a new one starts afresh): '
            f'python tools/remap_dictionary.py {name} CONFIG OUT.pth, then start from OUT.pth')


def warn_if_decoders_other(model: nn.Module, meta: dict, name: str) -> None:
    """For a checkpoint saved before DLD recorded its decoders' characters
    (:data:`DECODER_CHARS`, refused where they differ): warn where its
    training set's characters (``meta['dataset_meta']['chars']``) differ
    from ``model``'s decoders' and are as many, so every weight fits and each
    output would read as another character."""
    trained = (meta.get('dataset_meta') or {}).get('chars')
    if DECODER_CHARS in meta or not isinstance(trained, str) or not trained:
        return
    other = [c for c in decoder_chars(model) if c != trained and len(c) == len(trained)]
    if other:
        print_log(f'{name} records no decoder characters (saved before DLD recorded '
                  f'them); its training set held {trained!r}, the model\'s decoder holds '
                  f'{other[0]!r}, as many: if its decoders were trained with the set\'s, each '
                  'output now reads as another character. Use the dictionary it was trained '
                  'with.', logger='current', level=logging.WARNING)
