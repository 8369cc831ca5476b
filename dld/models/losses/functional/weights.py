"""Checking a loss's weights when it is built, not at its first step."""
import math
import numbers


def check_weight(value, name: str = 'loss_weight') -> float:
    """``value`` as a float, or an error naming ``name``: a weight that is no
    number (``loss_weight='two'`` from a command line) failed deep in the
    first training step, and a negative one (``gamma=-1``) turns a penalty
    into a reward, silently."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'{name} must be a number, got {value!r} ({type(value).__name__})')
    if not math.isfinite(value) or value < 0:
        raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
    return float(value)


def check_temperature(value, name: str = 'temperature') -> float:
    """``value`` as a float, or an error naming ``name``: a softmax
    temperature divides the logits, so 0 failed (or gave NaN) only in the
    first training step, and a negative one inverts the distribution."""
    value = check_weight(value, name)
    if value == 0:
        raise ValueError(f'{name} must be > 0 (it divides the logits), got {value!r}')
    return value
