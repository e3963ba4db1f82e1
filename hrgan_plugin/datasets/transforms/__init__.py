from .load_image_or_fail import LoadImageOrFail, UnreadableImageError
from .load_image_or_skip import LoadImageOrSkip

__all__ = ['LoadImageOrFail', 'LoadImageOrSkip', 'UnreadableImageError']
