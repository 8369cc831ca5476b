"""A checkpoint's decoder rows mapped, character by character, onto another dictionary.

A decoder's classifier (and an attention decoder's token embedding) has one
row per character plus its special tokens, so a checkpoint trained with
``0-9A-Z`` cannot be loaded into a model whose dictionary adds ``-`` or a
lower-case letter (the shapes differ), nor into one whose dictionary holds
as many other characters (each row would read as another character): both
are refused when a run starts (:mod:`dld.engine.start_checkpoint`). To
fine-tune such a model on labels with new characters, :func:`remap_dictionary`
writes a checkpoint for the new dictionary: each character both hold keeps
its trained row, each special token (CTC blank, start/end, padding) its own,
and each new character a row as its layer initialises one, drawn from a
fixed seed (the same for the same decoder: a teacher remapped alone and
inside a DLD checkpoint is one teacher). The result is
a start for ``load_from`` (or a teacher's ``teacher_ckpt``), not a run to
resume: the optimiser and schedule states are dropped.
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from dld.models.dictionary.checkpoint_fit import (
    DECODER_CHARS,
    decoder_chars,
    dictionary_modules,
)

#: The seed a new character's rows are drawn from (:func:`_fresh_state`).
NEW_ROWS_SEED = 0


def _fresh_state(decoder: nn.Module) -> Dict[str, torch.Tensor]:
    """``decoder``'s weights as its layers initialise them, drawn on the CPU
    from :data:`NEW_ROWS_SEED`, the global generators left as they were: a
    new character's rows, the same for the same decoder wherever it is
    built (taken from the model as built, they were wherever the global
    generator stood: a teacher remapped alone and inside a DLD checkpoint
    got other ones, and a run given both warned of another teacher)."""
    fresh = copy.deepcopy(decoder).cpu()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(NEW_ROWS_SEED)
        for module in fresh.modules():
            if callable(getattr(module, 'reset_parameters', None)):
                module.reset_parameters()
    return fresh.state_dict()


def _token_dim(own: torch.Tensor, saved: torch.Tensor, new_chars: int, old_chars: int,
               specials: int, key: str) -> Optional[int]:
    """The one dimension of a decoder tensor that runs over the tokens (its
    size: the characters plus 0 to all of the special tokens, the same
    number in both); None where it has none."""
    dims = [d for d in range(own.dim()) if d < saved.dim()
            and own.shape[d] - new_chars == saved.shape[d] - old_chars
            and 0 <= own.shape[d] - new_chars <= specials]
    if len(dims) > 1:
        raise ValueError(f'{key}: more than one dimension could run over the dictionary '
                         f'({tuple(own.shape)}); it cannot be mapped by character')
    return dims[0] if dims else None


def remap_state(model: nn.Module, state: Dict[str, torch.Tensor],
                old_chars: str) -> Dict[str, object]:
    """``state`` (weights trained with the characters ``old_chars``, in their
    dictionary order) with every decoder tensor of ``model`` that runs over
    the dictionary mapped onto ``model``'s. Returns ``dict(state=...,
    kept=[...], added=[...], dropped=[...], tensors=N)``."""
    own = model.state_dict()
    out = dict(state)
    decoders = dictionary_modules(model)
    if not decoders:
        raise ValueError("the config's model has no decoder with a dictionary")
    tensors, added, dropped = 0, set(), set()
    for name, decoder in decoders.items():
        dictionary = decoder.dictionary
        new = dictionary.dict[:dictionary.num_chars]
        specials = dictionary.num_classes - dictionary.num_chars
        old_index = {c: i for i, c in enumerate(old_chars)}
        added |= {c for c in new if c not in old_index}
        dropped |= {c for c in old_chars if c not in set(new)}
        prefix = f'{name}.' if name else ''
        fresh = _fresh_state(decoder)
        for key, mine in own.items():
            if not key.startswith(prefix) or key not in state \
                    or not mine.is_floating_point():
                continue
            saved = state[key]
            dim = _token_dim(mine, saved, len(new), len(old_chars), specials, key)
            if dim is None:
                continue
            mapped = fresh[key[len(prefix):]].to(mine).clone()  # the kept rows set below
            for j in range(mine.shape[dim]):
                i = (old_index.get(new[j]) if j < len(new)
                     else len(old_chars) + (j - len(new)))  # a special token: its own
                if i is not None:
                    mapped.select(dim, j).copy_(saved.select(dim, i))
            out[key] = mapped
            tensors += 1
    if not tensors:
        raise ValueError('no decoder weight of the checkpoint runs over a dictionary that '
                         "fits the config's decoders (another decoder type?)")
    kept = [c for c in old_chars if c not in dropped]
    return dict(state=out, kept=kept, added=sorted(added), dropped=sorted(dropped),
                tensors=tensors)


def trained_chars(meta: dict, given: Optional[str] = None) -> str:
    """The characters the checkpoint's decoders were trained with: ``given``,
    else its ``meta['decoder_chars']`` (one string), else its training set's
    (``meta['dataset_meta']['chars']``)."""
    if given:
        return given
    saved = meta.get(DECODER_CHARS)
    if isinstance(saved, (list, tuple)) and len(saved) == 1 and isinstance(saved[0], str):
        return saved[0]
    if isinstance(saved, (list, tuple)) and len(saved) > 1:
        raise ValueError(f'its decoders were trained with several dictionaries ({saved}): '
                         'give the one to map with --old-chars / old_chars=')
    chars = (meta.get('dataset_meta') or {}).get('chars')
    if isinstance(chars, str) and chars:
        return chars
    raise ValueError('the checkpoint does not record the characters it was trained with: '
                     'give them, in dictionary order, with --old-chars / old_chars= (e.g. '
                     '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ, the default dictionary)')


def remap_dictionary(checkpoint: str, config: str, out: str,
                     old_chars: Optional[str] = None,
                     cfg_options: Optional[dict] = None) -> Dict[str, object]:
    """Write to ``out`` the weights of ``checkpoint`` for the dictionary of
    ``config``'s decoders (see the module docstring); returns what
    :func:`remap_state` says, with ``old_chars`` and ``new_chars``."""
    from dld.utils.atomic_file import write_file_atomic

    from .model_loading import (
        build_model_for_inference,
        load_config,
        read_checkpoint,
        state_and_meta,
    )
    cfg = load_config(config, cfg_options)
    model = build_model_for_inference(cfg.model)
    state, meta = state_and_meta(read_checkpoint(checkpoint))
    old = trained_chars(meta, old_chars)
    done = remap_state(model, state, old)
    new_chars: List[str] = decoder_chars(model)
    meta = copy.deepcopy(meta)
    meta[DECODER_CHARS] = new_chars
    if len(new_chars) == 1:
        meta['dataset_meta'] = dict(meta.get('dataset_meta') or {}, chars=new_chars[0])
    meta['remapped_from'] = dict(checkpoint=str(checkpoint), chars=old)
    write_file_atomic(out, lambda f: torch.save(dict(state_dict=done['state'], meta=meta), f))
    return dict(done, old_chars=old, new_chars=new_chars)


__all__: Sequence[str] = ('remap_dictionary', 'remap_state', 'trained_chars')
