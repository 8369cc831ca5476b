"""Character set and the special tokens each decoder family needs."""
import os
import os.path as osp
import unicodedata
from typing import List, Optional, Sequence

from dld.registry import TASK_UTILS
from dld.utils.char_names import describe_chars, upper_each
from dld.utils.flags import check_flag

#: Licence plates: digits then capital Latin letters.
PLATE_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'


class UnknownCharacterError(ValueError):
    """A label holds a character that the dictionary cannot encode."""


class DictionaryError(ValueError):
    """A dictionary that cannot be built as given (its file, its characters,
    its options); the tools end with its one line."""


class DictionaryFileNotFoundError(DictionaryError, FileNotFoundError):
    """The ``dict_file`` is not there."""


@TASK_UTILS.register_module()
class Dictionary:
    """Maps characters to indices and back.

    Special tokens come after the characters, in a fixed order, so that the
    index of a character never depends on which decoder uses the dictionary:
    ``[chars..., <BLK>?, <BOS/EOS>?, <PAD>?]``. CTC uses a blank; attention
    decoders use one shared start/end token and a padding token.

    Args:
        chars (str | Sequence[str] | None): the characters, in index order.
            Defaults to :data:`PLATE_CHARS`. Mutually exclusive with
            ``dict_file``.
        dict_file (str | None): a UTF-8 file with one character per line
            (a byte-order mark, as Windows editors write, is skipped).
        with_blank (bool): add the CTC blank.
        with_start_end (bool): add one token used as both start and end.
        with_padding (bool): add the padding token.
        unknown (str): what to do with a character outside the set:
            ``'error'`` (default) raises :class:`UnknownCharacterError`;
            ``'ignore'`` drops it when a text is encoded (:meth:`str2idx`).
            A label file's label with such a character is refused either
            way, naming its line (:meth:`label_problem`): dropped, the
            model would learn another text than the label and every
            reading of it would score as a misread; a set's
            ``strict=False`` skips such lines, counted. Plates have no
            "unknown" glyph worth learning, so there is no ``<UKN>`` token.
        case_sensitive (bool): if False, labels are upper-cased before
            lookup (plates are upper-case), and the characters must then be
            upper-case too.
    """

    BLANK = '<BLK>'
    START_END = '<BOS/EOS>'
    PADDING = '<PAD>'

    def __init__(self,
                 chars: Optional[Sequence[str]] = None,
                 dict_file: Optional[str] = None,
                 with_blank: bool = False,
                 with_start_end: bool = False,
                 with_padding: bool = False,
                 unknown: str = 'error',
                 case_sensitive: bool = False) -> None:
        with_blank = check_flag(with_blank, 'Dictionary.with_blank')
        with_start_end = check_flag(with_start_end, 'Dictionary.with_start_end')
        with_padding = check_flag(with_padding, 'Dictionary.with_padding')
        case_sensitive = check_flag(case_sensitive, 'Dictionary.case_sensitive')
        if chars is not None and dict_file is not None:
            raise DictionaryError('Dictionary: give either `chars` or `dict_file`, not both.')
        source = f'Dictionary {dict_file!r}' if dict_file is not None else 'Dictionary'
        if dict_file is not None:
            chars = self._read_dict_file(dict_file)
        elif chars is None:
            chars = PLATE_CHARS
        chars = list(chars)
        if not chars:
            raise DictionaryError(f'{source}: a dictionary needs at least one character.')
        bad = [(i, c) for i, c in enumerate(chars) if not isinstance(c, str) or len(c) != 1]
        if bad:
            i, c = bad[0]
            raise DictionaryError(f'Dictionary: chars[{i}] is {c!r}, but labels are read '
                                  'one character at a time, so it could never be encoded: '
                                  'give one character per entry.')
        dupes = sorted({c for c in chars if chars.count(c) > 1})
        if dupes:
            raise DictionaryError(f'{source}: duplicate characters {dupes}')
        lower = [c for c in chars if c != upper_each(c)]
        if lower and not case_sensitive:
            raise DictionaryError(
                f'{source}: case_sensitive=False upper-cases every label before lookup, so '
                f'the dictionary could never encode its character(s) {lower}: upper-case '
                'them or set case_sensitive=True.')
        if unknown not in ('error', 'ignore'):
            raise DictionaryError(
                f"Dictionary: unknown must be 'error' or 'ignore', got {unknown!r}")
        self.unknown = unknown
        self.case_sensitive = case_sensitive

        self._chars: List[str] = list(chars)
        self.num_chars = len(chars)
        self.blank_idx = self.start_idx = self.end_idx = self.padding_idx = None
        if with_blank:
            self.blank_idx = len(self._chars)
            self._chars.append(self.BLANK)
        if with_start_end:
            self.start_idx = self.end_idx = len(self._chars)
            self._chars.append(self.START_END)
        if with_padding:
            self.padding_idx = len(self._chars)
            self._chars.append(self.PADDING)
        self._char2idx = {c: i for i, c in enumerate(self._chars[:self.num_chars])}

    @staticmethod
    def _read_dict_file(path: str) -> List[str]:
        if not osp.isfile(path):
            where = '' if osp.isabs(path) else (
                f' (a relative dict_file is read from the working directory, {os.getcwd()})')
            raise DictionaryFileNotFoundError(f'Dictionary file not found: {path}{where}')
        try:
            with open(path, encoding='utf-8-sig') as f:  # a BOM is no character
                lines = [line.rstrip('\r\n') for line in f]
        except UnicodeDecodeError as err:
            raise DictionaryError(f'{path}: not valid UTF-8 (byte '
                                  f'0x{err.object[err.start]:02x} at offset {err.start}); '
                                  'save it as UTF-8') from err
        while lines and lines[-1] == '':  # blank lines an editor leaves at the end
            lines.pop()
        chars, first_line = [], {}
        for lineno, line in enumerate(lines, 1):
            if len(line) != 1:
                composed = unicodedata.normalize('NFC', line)
                hint = (' (a space is a line holding one space; an empty line is no character)'
                        if not line.strip() else
                        f' (that is {composed!r} decomposed: {describe_chars(list(line))})'
                        if len(composed) == 1 else '')
                raise DictionaryError(
                    f'{path}:{lineno}: expected one character per line, got {line!r}{hint}')
            if line in first_line:
                raise DictionaryError(f'{path}:{lineno}: {line!r} is there already, at '
                                      f'line {first_line[line]}')
            first_line[line] = lineno
            chars.append(line)
        return chars

    @property
    def num_classes(self) -> int:
        """Size of the output layer: characters plus special tokens."""
        return len(self._chars)

    @property
    def dict(self) -> List[str]:
        return list(self._chars)

    def normalize(self, text: str) -> str:
        """``text`` as looked up: upper-cased unless case-sensitive, one
        character at a time, so that no character becomes two ('ß' would
        become 'SS' and a label one character longer: it stays 'ß' and is
        outside a dictionary of capitals)."""
        return text if self.case_sensitive else upper_each(text)

    def unknown_chars(self, text: str) -> List[str]:
        """Characters of ``text`` the dictionary cannot encode, in order."""
        text = self.normalize(text)
        return [c for c in text if c not in self._char2idx]

    def label_problem(self, text: str) -> str:
        """Why ``text`` cannot be a label (characters it cannot encode), in
        the words every reader of labels uses; '' for a label it encodes."""
        unknown = self.unknown_chars(text)
        return (f'label {text!r} has character(s) {describe_chars(unknown)} outside the '
                'dictionary' if unknown else '')

    def str2idx(self, text: str) -> List[int]:
        """Encode ``text``; unknown characters raise or are dropped."""
        idx = []
        for c in self.normalize(text):
            i = self._char2idx.get(c)
            if i is None:
                if self.unknown == 'error':
                    raise UnknownCharacterError(
                        f'Character {c!r} of {text!r} is not in the dictionary '
                        f'({"".join(self._chars[:self.num_chars])!r}).')
                continue
            idx.append(i)
        return idx

    def idx2str(self, indices: Sequence[int]) -> str:
        """Decode indices; special tokens are skipped."""
        return ''.join(self._chars[i] for i in indices if 0 <= i < self.num_chars)

    def __len__(self) -> int:
        return self.num_classes

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_chars={self.num_chars}, '
                f'blank={self.blank_idx}, start_end={self.start_idx}, '
                f'padding={self.padding_idx})')
