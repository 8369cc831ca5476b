"""Per-frame classifier read with CTC."""
from typing import Optional, Tuple

import torch
from torch import nn

from dld.registry import MODELS

from .base_decoder import BaseDecoder, Hypotheses, Targets, build_dictionary
from .ctc_prefix_beam_search import NEG_INF, ctc_prefix_beam_search


@MODELS.register_module()
class CTCDecoder(BaseDecoder):
    """Linear head over the encoder sequence; ``L = T``.

    CTC suits DLD because its output length follows the input width, so one
    head reads every scale, and its likelihood sums over alignments.

    Args:
        in_channels (int): encoder width D (the recognizer fills it in).
        dictionary (dict | Dictionary | None): ``with_blank`` is switched on.
        module_loss (dict): default ``CTCModuleLoss``.
        postprocessor (dict): default ``CTCPostProcessor``.
        dropout (float): before the classifier.
        beam_width (int), topk (int): prefix beam search defaults.

    Shapes: ``(B, T, D) -> logits (B, T, K)``, K = ``dictionary.num_classes``.
    """

    logits_per_frame = True

    def __init__(self,
                 in_channels: int,
                 dictionary=None,
                 module_loss: dict = dict(type='CTCModuleLoss'),  # noqa: B006
                 postprocessor: dict = dict(type='CTCPostProcessor'),  # noqa: B006
                 dropout: float = 0.0,
                 beam_width: int = 10,
                 topk: int = 1,
                 init_cfg=None) -> None:
        dictionary = build_dictionary(dictionary, 'CTCDecoder', with_blank=True)
        super().__init__(dictionary, module_loss, postprocessor, beam_width, topk, init_cfg)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(in_channels, dictionary.num_classes)

    def forward_train(self, encoder_out: torch.Tensor, targets: Optional[Targets] = None
                      ) -> Tuple[torch.Tensor, None]:
        """Targets do not change CTC logits; accepted for a uniform API."""
        return self.classifier(self.dropout(encoder_out)), None

    def forward_sequences(self, encoder_out: torch.Tensor, targets: Targets,
                          rows: Optional[torch.Tensor] = None,
                          memory_mask: Optional[torch.Tensor] = None
                          ) -> Tuple[torch.Tensor, None]:
        """CTC logits do not depend on the target: computed once per image.
        A padded memory would put its padding steps into every alignment,
        so ``memory_mask`` is refused (``reads_padded_memory`` is False)."""
        self._masked(memory_mask)  # refuses a mask
        logits, _ = self.forward_train(encoder_out)
        # index_select: rows repeat (BaseDecoder.forward_sequences).
        return (logits if rows is None else logits.index_select(0, rows)), None

    def forward_test(self, encoder_out: torch.Tensor) -> Tuple[torch.Tensor, None]:
        return self.forward_train(encoder_out)

    @torch.no_grad()
    def greedy_search(self, encoder_out: torch.Tensor) -> Tuple[Hypotheses, torch.Tensor]:
        """Best path, collapsed; scored by the string's full CTC probability
        (all alignments), so greedy and beam scores mean the same thing."""
        logits, _ = self.forward_test(encoder_out)
        seqs = self.postprocessor.collapse(logits.argmax(-1))
        scores = -self.module_loss.nll(logits, seqs)
        return [[s] for s in seqs], scores[:, None]

    def search(self, encoder_out: torch.Tensor, decode: str = 'greedy',
               beam_width: Optional[int] = None, topk: Optional[int] = None, **masked):
        """As :meth:`BaseDecoder.search`; no reading is cut: CTC emits what
        its frames read, with no step limit."""
        seqs, scores, _ = super().search(encoder_out, decode, beam_width, topk, **masked)
        return seqs, scores, torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)

    @torch.no_grad()
    def beam_search(self, encoder_out: torch.Tensor, beam_width: Optional[int] = None,
                    topk: Optional[int] = None) -> Tuple[Hypotheses, torch.Tensor]:
        """Prefix beam search; the survivors are then rescored exactly.

        A narrow beam prunes some alignments of a prefix, so its beam score is
        only a lower bound; one batched ``ctc_loss`` call replaces it with the
        full ``log p(text | x)`` and the hypotheses are re-ranked. Rescored
        are every prefix the beam kept (not only its ``topk`` best by the
        lower bound) and the best path's text (greedy decoding's), which the
        search may have pruned: a prefix that falls out of the beam at one
        frame is lost for good. The beam's best is so never less likely
        than the greedy reading; it was for about 1 in 300 images of random
        logits, at widths 2 to 10.
        """
        logits, _ = self.forward_test(encoder_out)
        W = beam_width or self.beam_width
        k = topk or self.topk
        seqs, scores = ctc_prefix_beam_search(logits.float().log_softmax(-1),
                                              self.dictionary.blank_idx, W, max(W, k))
        best_path = self.postprocessor.collapse(logits.argmax(-1))
        found = (scores > NEG_INF).tolist()
        candidates = []
        for hyps, kept, path in zip(seqs, found, best_path):
            own = [h for h, f in zip(hyps, kept) if f]
            candidates.append(own if path in own else own + [path])
        rows = torch.tensor([b for b, c in enumerate(candidates) for _ in c],
                            dtype=torch.long, device=logits.device)
        exact = (-self.module_loss.nll(logits[rows], [h for c in candidates for h in c]))
        exact = exact.to(scores.device).tolist()
        out_seqs, out_scores, n = [], [], 0
        for c in candidates:
            own = exact[n:n + len(c)]
            n += len(c)
            # a stable sort: equal scores keep the beam's order, the best path last
            ranked = sorted(range(len(c)), key=lambda j: -own[j])[:k]
            out_seqs.append([c[j] for j in ranked] + [[] for _ in range(k - len(ranked))])
            out_scores.append([own[j] for j in ranked] + [NEG_INF] * (k - len(ranked)))
        seqs = out_seqs
        scores = torch.tensor(out_scores, dtype=scores.dtype, device=scores.device)
        return seqs, scores
