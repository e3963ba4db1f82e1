from .augmentation import AugmentationNet
from .backbones import HRUHourglassNet
from .discriminators import ClassifierDiscriminator, HRNetDiscriminator, PoseDiscriminator
from .losses import BEGANLoss, NonSaturatingGANLoss
from .pose_estimators import AdversarialTopdownPoseEstimator

__all__ = [
    'AugmentationNet',
    'HRUHourglassNet',
    'ClassifierDiscriminator',
    'HRNetDiscriminator',
    'PoseDiscriminator',
    'BEGANLoss',
    'NonSaturatingGANLoss',
    'AdversarialTopdownPoseEstimator',
]
