from .dictionary import PLATE_CHARS, Dictionary, UnknownCharacterError

__all__ = ['Dictionary', 'PLATE_CHARS', 'UnknownCharacterError']
