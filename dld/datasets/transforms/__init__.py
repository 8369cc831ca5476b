"""Plate transforms, registered in :data:`dld.registry.TRANSFORMS`."""
from .copy_hr_to_lr import CopyHRToLR
from .degrade_hr import DegradeHR
from .formatting import PackPlateInputs
from .geometric import PlateRandomAffine
from .loading import LoadPlateImages, read_plate_image
from .photometric import PlatePhotometricDistort
from .resize_pair import ResizePair

__all__ = [
    'LoadPlateImages', 'read_plate_image', 'ResizePair', 'CopyHRToLR', 'DegradeHR',
    'PlatePhotometricDistort', 'PlateRandomAffine', 'PackPlateInputs'
]
