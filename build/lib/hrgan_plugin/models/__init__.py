from .augmentation import AugmentationNet
from .backbones import HRUHourglassNet
from .discriminators import PoseDiscriminator
from .losses import BEGANLoss
from .pose_estimators import AdversarialTopdownPoseEstimator

__all__ = [
    'AugmentationNet',
    'HRUHourglassNet',
    'PoseDiscriminator',
    'BEGANLoss',
    'AdversarialTopdownPoseEstimator',
]
