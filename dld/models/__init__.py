"""Models: every module here registers itself in :data:`dld.registry.MODELS`."""
from . import (  # noqa: F401
    backbones,
    connectors,
    data_preprocessors,
    decoders,
    dictionary,
    distillers,
    encoders,
    layers,
    losses,
    module_losses,
    postprocessors,
    recognizers,
    selectors,
)
