from .basic_block import BasicBlock
from .resnet_plate import ResNetPlate

__all__ = ['BasicBlock', 'ResNetPlate']
