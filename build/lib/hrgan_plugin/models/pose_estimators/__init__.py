from .adversarial_topdown import AdversarialTopdownPoseEstimator

__all__ = ['AdversarialTopdownPoseEstimator']
