"""What every recognizer decoder owns and offers."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule

from dld.models.dictionary import Dictionary, DictionaryError
from dld.registry import MODELS, TASK_UTILS

Targets = Sequence[Sequence[int]]
Hypotheses = List[List[List[int]]]


def build_dictionary(cfg: Union[dict, Dictionary, None], owner: str, **required) -> Dictionary:
    """Build a dictionary, switching on the special tokens ``owner`` needs.

    A config that explicitly turns a required token off is an error rather
    than silently overridden.
    """
    if isinstance(cfg, Dictionary):
        dictionary = cfg
    else:
        cfg = dict(type='Dictionary') if cfg is None else dict(cfg)
        for flag, value in required.items():
            if cfg.get(flag, value) != value:
                raise DictionaryError(
                    f'{owner}: its dictionary needs {flag}={value}, the config sets '
                    f'{flag}={cfg[flag]}; remove the key or set it to {value}.')
            cfg[flag] = value
        try:
            dictionary = TASK_UTILS.build(cfg)
        except DictionaryError as err:  # say whose dictionary it is
            raise type(err)(f'{owner}: {err}') from err
    for flag in required:
        token = dict(with_blank='blank_idx', with_start_end='end_idx',
                     with_padding='padding_idx')[flag]
        if getattr(dictionary, token) is None:
            raise DictionaryError(f'{owner}: its dictionary needs {flag}=True.')
    return dictionary


class BaseDecoder(BaseModule):
    """Owns the dictionary, the module loss and the postprocessor.

    Subclasses implement :meth:`forward_train`, :meth:`forward_test`,
    :meth:`greedy_search` and :meth:`beam_search`; loss, likelihood and
    prediction are then shared.

    Args:
        dictionary (Dictionary): already built by the subclass.
        module_loss (dict): config, built with ``dictionary`` as default arg.
        postprocessor (dict): config, built the same way.
        beam_width (int), topk (int): defaults for :meth:`beam_search`.

    ``reads_padded_memory``: whether :meth:`forward_train` takes a
    ``memory_mask``, so that memories of several widths (one per input
    scale) padded to one length decode in one pass.

    ``logits_per_frame``: whether the logits hold one distribution per
    encoder frame (CTC: their length follows the input width) rather than
    one per decoding step of the target (attention decoders).
    """

    reads_padded_memory = False
    logits_per_frame = False

    def __init__(self, dictionary: Dictionary, module_loss: dict, postprocessor: dict,
                 beam_width: int = 5, topk: int = 1, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.dictionary = dictionary
        self.module_loss = MODELS.build(module_loss, default_args=dict(dictionary=dictionary))
        self.postprocessor = MODELS.build(postprocessor,
                                          default_args=dict(dictionary=dictionary))
        self.beam_width = beam_width
        self.topk = topk

    # -- to implement -------------------------------------------------------
    def forward_train(self, encoder_out: torch.Tensor, targets: Optional[Targets]
                      ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(B, T, D) -> (logits (B, L, K), hidden (B, L, D') | None)``."""
        raise NotImplementedError

    def forward_test(self, encoder_out: torch.Tensor
                     ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Logits without targets (free-running for autoregressive decoders)."""
        raise NotImplementedError

    def greedy_search(self, encoder_out: torch.Tensor) -> Tuple[Hypotheses, torch.Tensor]:
        """B lists of one hypothesis, and its log-probability ``(B, 1)``."""
        raise NotImplementedError

    def beam_search(self, encoder_out: torch.Tensor, beam_width: Optional[int] = None,
                    topk: Optional[int] = None) -> Tuple[Hypotheses, torch.Tensor]:
        """B lists of k hypotheses, best first, and ``(B, k)`` log-probabilities."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------
    def forward(self, encoder_out: torch.Tensor, targets: Optional[Targets] = None,
                memory_mask: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Teacher-forced on ``targets`` when given, else :meth:`forward_test`;
        ``memory_mask`` as in :meth:`forward_sequences`."""
        masked = self._masked(memory_mask)
        if targets is None:
            return self.forward_test(encoder_out, **masked)
        return self.forward_train(encoder_out, targets, **masked)

    def loss(self, encoder_out: torch.Tensor, targets: Targets,
             memory_mask: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        logits, _ = self.forward_train(encoder_out, targets, **self._masked(memory_mask))
        return self.module_loss(logits, targets)

    def forward_sequences(self, encoder_out: torch.Tensor, targets: Targets,
                          rows: Optional[torch.Tensor] = None,
                          memory_mask: Optional[torch.Tensor] = None
                          ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Teacher-forced outputs of several targets per image in one pass:
        ``targets[j]`` is read from image ``rows[j]`` (``(N,)`` indices; None:
        target j from image j). ``memory_mask`` ``(B, T)`` marks the real
        steps of a padded ``encoder_out`` (``reads_padded_memory`` only).

        So a distiller scores the ground truth and the teacher's beams with
        one decoder run instead of one per sequence. Rows repeat, so they are
        gathered with ``index_select``: the backward of ``encoder_out[rows]``
        adds repeated rows with atomics on a multi-threaded CPU, in an order
        that changes with the machine's load, and training drifts.
        """
        if rows is not None:
            encoder_out = encoder_out.index_select(0, rows)
            memory_mask = None if memory_mask is None else memory_mask[rows]
        return self.forward_train(encoder_out, targets, **self._masked(memory_mask))

    def _masked(self, memory_mask: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``memory_mask`` as keyword arguments of the decoding methods
        (none without a mask); refused by a decoder that cannot read one."""
        if memory_mask is None:
            return {}
        if not self.reads_padded_memory:
            raise ValueError(f'{type(self).__name__} does not read a padded memory '
                             '(memory_mask).')
        return dict(memory_mask=memory_mask)

    def score_sequences(self, encoder_out: torch.Tensor, targets: Targets,
                        rows: Optional[torch.Tensor] = None,
                        unalignable_nll: Optional[float] = None,
                        memory_mask: Optional[torch.Tensor] = None
                        ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """``(nll (N,), logits, hidden)`` of :meth:`forward_sequences`:
        ``-log p(targets[j] | image rows[j])`` and the outputs behind it."""
        logits, hidden = self.forward_sequences(encoder_out, targets, rows, memory_mask)
        nll = self.module_loss.nll(logits, targets, unalignable_nll=unalignable_nll)
        return nll, logits, hidden

    def sequence_nll(self, encoder_out: torch.Tensor, targets: Targets,
                     unalignable_nll: Optional[float] = None) -> torch.Tensor:
        """``-log p(target | x)``, ``(N,)``.

        ``unalignable_nll``: the value (with zero gradient) for a target the
        decoder cannot produce (too long to align in the CTC frames, or
        longer than an attention decoder's max_seq_len - 1), instead of +inf.
        """
        return self.score_sequences(encoder_out, targets, None, unalignable_nll)[0]

    def predict(self, encoder_out: torch.Tensor, decode: str = 'greedy',
                beam_width: Optional[int] = None, topk: Optional[int] = None,
                memory_mask: Optional[torch.Tensor] = None) -> List[Dict]:
        """Per image ``dict(text, score, topk)``, see :class:`BasePostProcessor`.
        ``memory_mask`` as in :meth:`forward_sequences`."""
        if decode not in ('greedy', 'beam'):
            raise ValueError(f"decode must be 'greedy' or 'beam', got {decode!r}.")
        seqs, scores, truncated = self.search(encoder_out, decode, beam_width, topk,
                                              **self._masked(memory_mask))
        return self.postprocessor.format(seqs, scores, truncated)

    def search(self, encoder_out: torch.Tensor, decode: str = 'greedy',
               beam_width: Optional[int] = None, topk: Optional[int] = None, **masked
               ) -> Tuple[Hypotheses, torch.Tensor, Optional[torch.Tensor]]:
        """:meth:`greedy_search` or :meth:`beam_search`, and ``truncated``
        ``(B, k)`` bool: whether each hypothesis was ended by the decoder's
        step limit (an attention decoder's ``max_seq_len``) where the model
        would have read on: a reading cut short. None: not known (a decoder
        of one's own that does not override this)."""
        if decode == 'greedy':
            seqs, scores = self.greedy_search(encoder_out, **masked)
        else:
            seqs, scores = self.beam_search(encoder_out, beam_width, topk, **masked)
        return seqs, scores, None
