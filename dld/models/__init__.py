"""Models: every module here registers itself in :data:`dld.registry.MODELS`."""
from . import (backbones, connectors, data_preprocessors, decoders, dictionary,  # noqa: F401
               distillers, encoders, losses, postprocessors, recognizers, selectors)
