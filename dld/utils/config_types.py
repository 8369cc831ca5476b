"""The name of the class a config's ``type`` builds, however it is written."""


def type_name(kind) -> str:
    """``'OneCycleLR'`` for each way a config may give that type: its
    registered name (``'OneCycleLR'``), with a scope (``'mmengine.OneCycleLR'``),
    its module's path (``'mmengine.optim.OneCycleLR'``, as the work dir's copy of
    a pure-Python config names it), or the class itself (a pure-Python config's
    ``type=OneCycleLR``, or its not yet imported ``LazyObject``). A class's
    name was compared as ``"<class '...OneCycleLR'>"``, and matched nothing."""
    if isinstance(kind, str):
        return kind.rsplit('.', 1)[-1]
    try:
        from mmengine.config.lazy import LazyAttr, LazyObject
    except ImportError:  # an MMEngine without pure-Python configs
        LazyAttr = LazyObject = ()  # noqa: N806
    if isinstance(kind, (LazyObject, LazyAttr)):  # any attribute of one is another
        return str(kind).rsplit('.', 1)[-1]
    name = getattr(kind, '__name__', None)
    return name if isinstance(name, str) else str(kind)
