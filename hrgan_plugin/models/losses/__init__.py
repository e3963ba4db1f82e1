from .began_loss import BEGANLoss
from .non_saturating_gan_loss import NonSaturatingGANLoss

__all__ = ['BEGANLoss', 'NonSaturatingGANLoss']
