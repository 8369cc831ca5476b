"""Dictionary: labels are normalised by the case rule the characters obey."""
import pytest

from dld.models.dictionary import Dictionary


def test_case_insensitive_upper_cases_labels_before_lookup():
    d = Dictionary(chars='AB0')
    assert d.str2idx('ab0') == [0, 1, 2]
    assert d.unknown_chars('abz') == ['Z']


def test_case_insensitive_refuses_characters_it_could_never_encode():
    with pytest.raises(ValueError, match=r"\['a', 'b'\].*case_sensitive=True"):
        Dictionary(chars='ab0')


def test_case_sensitive_keeps_both_cases_apart():
    d = Dictionary(chars='aA0', case_sensitive=True)
    assert d.str2idx('Aa0') == [1, 0, 2]


def test_dictionary_refuses_entries_of_more_or_less_than_one_character():
    with pytest.raises(ValueError, match=r"chars\[1\] is 'BC'.*one character per entry"):
        Dictionary(chars=['A', 'BC'])
    with pytest.raises(ValueError, match=r"chars\[0\] is ''"):
        Dictionary(chars=['', 'A'])


def test_dictionary_round_trips_every_string_of_its_characters():
    d = Dictionary(chars='AB0', with_blank=True, with_start_end=True, with_padding=True)
    for text in ['', 'A', 'BA0', '00BBA']:
        assert d.idx2str(d.str2idx(text)) == text
        assert d.idx2str(d.str2idx(text.lower())) == text  # case-insensitive
    # special tokens and the -1 filler of unfinished beams decode to nothing
    assert d.idx2str([0, d.blank_idx, 1, d.end_idx, d.padding_idx, -1]) == 'AB'


def test_dict_file_saved_with_a_byte_order_mark_reads_its_first_character(tmp_path):
    path = tmp_path / 'chars.txt'
    path.write_bytes('A\r\nB\r\n0\r\n'.encode('utf-8-sig'))
    d = Dictionary(dict_file=str(path))
    assert d.dict[:d.num_chars] == ['A', 'B', '0'] and d.str2idx('B0A') == [1, 2, 0]


def test_a_missing_relative_dict_file_says_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=f'chars.txt .*working directory, {tmp_path}'):
        Dictionary(dict_file='chars.txt')


def test_an_unknown_character_is_an_error_naming_it_and_its_label():
    from dld.models.dictionary import UnknownCharacterError
    d = Dictionary(chars='AB0')
    with pytest.raises(UnknownCharacterError, match=r"Character '-' of 'A-B'.*'AB0'"):
        d.str2idx('A-B')
    assert issubclass(UnknownCharacterError, ValueError)


def test_unknown_ignore_drops_characters_it_cannot_encode():
    d = Dictionary(chars='AB0', unknown='ignore')
    assert d.str2idx('A-B 0?') == [0, 1, 2]
    assert d.str2idx('-?') == []


def test_an_unknown_mode_other_than_error_or_ignore_is_refused():
    with pytest.raises(ValueError, match="unknown must be 'error' or 'ignore', got 'skip'"):
        Dictionary(chars='AB0', unknown='skip')


def test_chars_and_dict_file_together_are_refused(tmp_path):
    path = tmp_path / 'chars.txt'
    path.write_text('A\nB\n')
    with pytest.raises(ValueError, match='either `chars` or `dict_file`, not both'):
        Dictionary(chars='AB', dict_file=str(path))


def test_a_dictionary_without_characters_is_refused(tmp_path):
    with pytest.raises(ValueError, match='at least one character'):
        Dictionary(chars='')
    empty = tmp_path / 'chars.txt'
    empty.write_text('')
    with pytest.raises(ValueError, match='at least one character'):
        Dictionary(dict_file=str(empty))


def test_duplicate_characters_are_refused_and_named():
    with pytest.raises(ValueError, match=r"^Dictionary: duplicate characters \['A', 'B'\]"):
        Dictionary(chars='ABCAB')


def test_a_dict_files_lower_case_without_case_sensitive_names_the_file(tmp_path):
    path = tmp_path / 'chars.txt'
    path.write_text('A\nk\n0\nm\n')
    with pytest.raises(ValueError) as info:
        Dictionary(dict_file=str(path))
    assert str(info.value).startswith(
        f"Dictionary {str(path)!r}: case_sensitive=False upper-cases every label before "
        "lookup, so the dictionary could never encode its character(s) ['k', 'm']")
    assert Dictionary(dict_file=str(path), case_sensitive=True).num_chars == 4


def test_a_dict_file_line_of_other_than_one_character_names_file_and_line(tmp_path):
    path = tmp_path / 'chars.txt'
    path.write_text('A\nBC\n0\n')
    with pytest.raises(ValueError) as info:
        Dictionary(dict_file=str(path))
    assert str(info.value) == f"{path}:2: expected one character per line, got 'BC'"


def test_a_character_whose_capital_is_two_keeps_its_place():
    """'ß'.upper() is 'SS': upper-casing the label would make it one
    character longer, with an 'S' the plate does not hold."""
    d = Dictionary(chars='MÜS12')
    assert d.normalize('mü12') == 'MÜ12'
    assert d.normalize('Mß12') == 'Mß12' and d.unknown_chars('Mß12') == ['ß']
    with_eszett = Dictionary(chars='Mß12')  # its own capital: not refused as lower-case
    assert with_eszett.str2idx('mß') == [0, 1]


def test_dict_file_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / 'chars.txt'
    path.write_text('A\n\nB\n', encoding='utf-8')
    with pytest.raises(ValueError, match=r"chars\.txt:2: expected one character per line, got "
                       r"'' \(a space is a line holding one space"):
        Dictionary(dict_file=str(path))
    path.write_text('A\nB\nA\n', encoding='utf-8')
    with pytest.raises(ValueError, match=r"chars\.txt:3: 'A' is there already, at line 1"):
        Dictionary(dict_file=str(path))
    path.write_text('A\nB\n', encoding='utf-16')
    with pytest.raises(ValueError, match=r'chars\.txt: not valid UTF-8 \(byte 0xff at offset 0'):
        Dictionary(dict_file=str(path))
    path.write_text('A\n \nB\n\n\n', encoding='utf-8')  # a space; blank lines at the end
    assert Dictionary(dict_file=str(path)).dict[:3] == ['A', ' ', 'B']


def test_invisible_characters_are_named_by_code_point():
    from dld.utils.char_names import describe_chars
    text = describe_chars(['\u0308', 'É', 'É'])
    assert text.startswith("['É', U+0308 COMBINING DIAERESIS]")
    assert "normalize('NFC', text)" in text
    assert describe_chars(['\u200b']) == '[U+200B ZERO WIDTH SPACE]'


def test_a_character_drawn_like_an_ascii_one_is_named_by_code_point():
    """'label 'А123ВС' has character(s) ['А', 'В', 'С'] outside the dictionary'
    read like the dictionary's own A, B and C."""
    d = Dictionary(chars='0123456789ABC')
    problem = d.label_problem('А12В１')  # Cyrillic A and VE, a full-width one
    assert "'А' (U+0410 CYRILLIC CAPITAL LETTER A)" in problem
    assert "'В' (U+0412 CYRILLIC CAPITAL LETTER VE)" in problem
    assert "'１' (U+FF11 FULLWIDTH DIGIT ONE)" in problem
    assert "unicodedata.normalize('NFKC', text)" in problem
    assert "['京']" in Dictionary(chars='AB').label_problem('京')  # no ASCII look-alike: as it was


def test_a_decomposed_character_in_a_dict_file_is_said_to_be_one(tmp_path):
    """'expected one character per line, got 'Ö'' showed what looked like one."""
    path = tmp_path / 'chars.txt'
    path.write_text('A\nO\u0308\n', encoding='utf-8')
    with pytest.raises(ValueError) as info:
        Dictionary(dict_file=str(path), case_sensitive=True)
    assert "that is 'Ö' decomposed: ['O', U+0308 COMBINING DIAERESIS]" in str(info.value)
    assert "unicodedata.normalize('NFC', text)" in str(info.value)
