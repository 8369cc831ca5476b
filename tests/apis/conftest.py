"""Fixtures of the inference and report tests."""
import pytest
from tiny_dld import make_tiny_run


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory):
    """Tiny trained DLD models (shipped weights) and generated plates, made once per session."""
    return make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
