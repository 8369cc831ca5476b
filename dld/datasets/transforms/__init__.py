"""Plate transforms, registered in :data:`dld.registry.TRANSFORMS`."""
from .degrade_hr import DegradeHR
from .formatting import PackPlateInputs
from .geometric import PlateRandomAffine
from .loading import LoadPlateImages, read_plate_image
from .photometric import PlatePhotometricDistort
from .resize_pair import ResizePair

__all__ = [
    'LoadPlateImages', 'read_plate_image', 'ResizePair', 'DegradeHR', 'PlatePhotometricDistort',
    'PlateRandomAffine', 'PackPlateInputs'
]
