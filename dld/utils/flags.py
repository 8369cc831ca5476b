"""Yes/no settings are ``True`` or ``False``, nothing else."""
import numbers


def check_flag(value, name: str) -> bool:
    """``value`` as a bool, or an error naming ``name``.

    A config file's ``train_selector='False'`` is a non-empty string, so
    true: the selector trained, the opposite of what was written, without a
    word (``--cfg-options`` turns ``False`` into a bool; a file does not).
    0 and 1 are taken as what they mean, and numpy's bools (a setting
    computed with numpy: ``np.True_`` was refused as "got np.True_ (bool)").
    """
    if isinstance(value, bool):
        return value
    if type(value).__module__ == 'numpy' and type(value).__name__ in ('bool', 'bool_'):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise TypeError(f'{name} is True or False, got {value!r} ({type(value).__name__})')
