"""``LoadImage`` that skips undecodable training images instead of failing."""
from __future__ import annotations

from typing import Optional

from mmengine.logging import print_log
from mmpose.datasets.transforms import LoadImage
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageOrSkip(LoadImage):
    """Load an image like mmpose's :class:`LoadImage`; if the file is missing
    or cannot be decoded, log a warning naming it and return ``None``.

    mmengine's ``BaseDataset`` answers ``None`` from a training pipeline by
    drawing another sample, so one corrupt file costs one sample instead of
    the run.  In test mode the dataset still raises (after the warning), as an
    evaluation must not silently drop samples.

    Args:
        **kwargs: passed to :class:`mmpose.datasets.transforms.LoadImage`.
    """

    def transform(self, results: dict) -> Optional[dict]:
        try:
            out = super().transform(results)
        except Exception as err:  # mmcv raises several types for unreadable files
            reason = str(err).splitlines()[0] if str(err) else err.__class__.__name__
            print_log(f'skipping unreadable image {results.get("img_path")}: {reason}',
                      logger='current', level=30)
            return None
        return out

