from .synthetic_writer import write_synthetic_dataset
from .topdown_recrop import TopdownRecrop
from .transforms import LoadImageOrSkip

__all__ = ['write_synthetic_dataset', 'LoadImageOrSkip', 'TopdownRecrop']
