from .discriminators import PoseDiscriminator
from .losses import BEGANLoss
from .pose_estimators import AdversarialTopdownPoseEstimator

__all__ = ['PoseDiscriminator', 'BEGANLoss', 'AdversarialTopdownPoseEstimator']
