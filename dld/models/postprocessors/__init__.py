from .attention_postprocessor import AttentionPostProcessor
from .base_postprocessor import BasePostProcessor
from .ctc_postprocessor import CTCPostProcessor

__all__ = ['AttentionPostProcessor', 'BasePostProcessor', 'CTCPostProcessor']
