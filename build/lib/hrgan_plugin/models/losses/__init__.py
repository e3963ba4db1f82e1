from .began_loss import BEGANLoss

__all__ = ['BEGANLoss']
