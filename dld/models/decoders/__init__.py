from .attention_beam_search import attention_beam_search
from .attention_decoder import AttentionDecoder
from .base_decoder import BaseDecoder, build_dictionary
from .ctc_decoder import CTCDecoder
from .ctc_prefix_beam_search import ctc_prefix_beam_search
from .padded_memory import content_mask, pad_memories
from .rnn_attention_cell import RNNAttentionCell
from .transformer_decoder_cell import TransformerDecoderCell

__all__ = ['AttentionDecoder', 'BaseDecoder', 'CTCDecoder', 'RNNAttentionCell',
           'TransformerDecoderCell', 'attention_beam_search', 'build_dictionary',
           'ctc_prefix_beam_search', 'pad_memories', 'content_mask']
