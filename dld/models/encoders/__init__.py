from .bilstm_encoder import BiLSTMEncoder
from .height_pooling import HeightPooling
from .positional_encoding import SinusoidalPositionalEncoding
from .transformer_encoder import TransformerEncoder

__all__ = ['BiLSTMEncoder', 'HeightPooling', 'SinusoidalPositionalEncoding',
           'TransformerEncoder']
