from .load_image_or_fail import LoadImageOrFail, UnreadableImageError
from .load_image_or_skip import LoadImageOrSkip
from .recrop_context import RecropContext

__all__ = ['LoadImageOrFail', 'LoadImageOrSkip', 'RecropContext', 'UnreadableImageError']
