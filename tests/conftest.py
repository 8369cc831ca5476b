"""Suite-wide setup."""
import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def dld_default_scope():
    """Every test builds in the ``dld`` scope.

    Runners and inferencers leave MMEngine's current default scope behind
    (a process-wide singleton); a later test's ``MODELS.build`` would then
    look in that scope's registry instead of DLD's.
    """
    with DefaultScope.overwrite_default_scope('dld'):
        yield
