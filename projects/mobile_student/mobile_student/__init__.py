"""An example project that extends DLD from outside its package.

Importing it registers a backbone, a feature loss and a transform in DLD's
registries; a config loads it with
``custom_imports = dict(imports=['projects.mobile_student.mobile_student'])``.
"""
from .cosine_feature_loss import CosineFeatureLoss
from .inverted_residual import InvertedResidual
from .mobile_plate_net import MobilePlateNet
from .random_plate_occlusion import RandomPlateOcclusion

__all__ = ['CosineFeatureLoss', 'InvertedResidual', 'MobilePlateNet', 'RandomPlateOcclusion']
