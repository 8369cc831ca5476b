from .dictionary import (
    PLATE_CHARS,
    Dictionary,
    DictionaryError,
    DictionaryFileNotFoundError,
    UnknownCharacterError,
)

__all__ = ['Dictionary', 'DictionaryError', 'DictionaryFileNotFoundError', 'PLATE_CHARS',
           'UnknownCharacterError']
