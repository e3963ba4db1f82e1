from .augmentation_net import AugmentationNet

__all__ = ['AugmentationNet']
