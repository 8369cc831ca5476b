"""Whether a config's model type is DLD's distiller: its own or a class derived from it."""


def is_distiller_type(model_type) -> bool:
    """True for ``'DLDDistiller'`` (``'dld.DLDDistiller'``, the class) and
    for a registered subclass of it (a method of one's own on top of DLD's,
    which the tools took by its name for a plain recognizer: inference
    asked for its teacher, get_flops.py dropped the teacher and selector).
    A name not registered (its module not imported) is judged by name."""
    from dld.registry import MODELS

    from .dld_distiller import DLDDistiller
    cls = model_type if isinstance(model_type, type) else None
    if cls is None and isinstance(model_type, str):
        try:
            cls = MODELS.get(model_type)
        except Exception:  # a scope prefix MMEngine cannot import: judged by name
            cls = None
    if isinstance(cls, type):
        return issubclass(cls, DLDDistiller)
    return str(model_type).rsplit('.', 1)[-1] == 'DLDDistiller'
