"""``LoadImage`` that stops an evaluation with one line on an unreadable image."""
from __future__ import annotations

from mmpose.datasets.transforms import LoadImage
from mmpose.registry import TRANSFORMS

from ...utils.errors import TrainingAborted


class UnreadableImageError(TrainingAborted):
    """An evaluation image is missing or cannot be decoded."""


@TRANSFORMS.register_module()
class LoadImageOrFail(LoadImage):
    """Load an image like mmpose's :class:`LoadImage`; if the file is missing
    or cannot be decoded, raise :class:`UnreadableImageError` naming it, so
    validation and testing stop with one line (``tools/train.py``,
    ``tools/test.py``) instead of a traceback, and never drop an image from a
    metric silently.

    Args:
        **kwargs: passed to :class:`mmpose.datasets.transforms.LoadImage`.
    """

    def transform(self, results: dict) -> dict:
        try:
            return super().transform(results)
        except Exception as err:  # mmcv raises several types for unreadable files
            reason = str(err).splitlines()[0] if str(err) else err.__class__.__name__
            raise UnreadableImageError(
                f"image '{results.get('img_path')}' cannot be read ({reason}); an evaluation "
                'scores every image: fix the file or remove it from the annotation file') from err
