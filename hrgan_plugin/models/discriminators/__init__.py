from .classifier_discriminator import ClassifierDiscriminator
from .hrnet_discriminator import HRNetDiscriminator
from .pose_discriminator import PoseDiscriminator

__all__ = ['ClassifierDiscriminator', 'HRNetDiscriminator', 'PoseDiscriminator']
