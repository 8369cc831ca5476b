"""Yes/no settings are ``True`` or ``False``, nothing else."""


def check_flag(value, name: str) -> bool:
    """``value`` as a bool, or an error naming ``name``.

    A config file's ``train_selector='False'`` is a non-empty string, so
    true: the selector trained, the opposite of what was written, without a
    word (``--cfg-options`` turns ``False`` into a bool; a file does not).
    0 and 1 are taken as what they mean.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f'{name} is True or False, got {value!r} ({type(value).__name__})')
