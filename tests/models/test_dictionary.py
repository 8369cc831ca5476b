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
