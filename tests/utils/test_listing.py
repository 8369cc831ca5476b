"""first_and_more / lines_and_more: one wording for every long listing."""
from dld.utils.listing import first_and_more, lines_and_more


def test_the_first_few_on_one_line_and_how_many_more():
    assert first_and_more(['a', 'b', 'c', 'd', 'e'], 3) == 'a, b, c and 2 more'
    assert first_and_more(['a', 'b'], 3) == 'a, b'
    assert first_and_more(['a', 'b', 'c'], 3, sep='; ') == 'a; b; c'
    # the first ones only were kept, the count of all was
    assert first_and_more(['a', 'b'], 2, total=7) == 'a, b and 5 more'


def test_the_first_few_one_a_line_and_how_many_more():
    assert lines_and_more(['x', 'y', 'z'], 2) == '  x\n  y\n  ... and 1 more'
    assert lines_and_more(['x'], 2, indent='\t') == '\tx'
