from .synthetic_writer import write_synthetic_dataset
from .transforms import LoadImageOrSkip

__all__ = ['write_synthetic_dataset', 'LoadImageOrSkip']
