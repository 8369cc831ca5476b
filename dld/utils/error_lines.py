"""The first lines of a long error message."""


def first_lines(err: Exception, count: int = 4) -> str:
    """torch's message lists every weight that does not fit, one a line
    (a hundred for a whole backbone): the first few say it."""
    lines = str(err).splitlines()
    more = len(lines) - count
    return '\n'.join(lines[:count] + ([f'\t... and {more} more line(s)'] if more > 0 else []))
