from .pose_discriminator import PoseDiscriminator

__all__ = ['PoseDiscriminator']
