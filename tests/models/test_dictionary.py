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
    with pytest.raises(ValueError, match=r"Duplicate characters in dictionary: \['A', 'B'\]"):
        Dictionary(chars='ABCAB')


def test_a_dict_file_line_of_other_than_one_character_names_file_and_line(tmp_path):
    path = tmp_path / 'chars.txt'
    path.write_text('A\nBC\n0\n')
    with pytest.raises(ValueError) as info:
        Dictionary(dict_file=str(path))
    assert str(info.value) == f"{path}:2: expected one character per line, got 'BC'"
