"""Reaching into a built dataset's pipeline."""
from __future__ import annotations

from mmpose.datasets.transforms import PackPoseInputs


def pack_transformed_keypoints(dataset) -> None:
    """Switch every ``PackPoseInputs`` of ``dataset`` (and of the datasets it
    wraps) to ``pack_transformed=True``, so samples carry their keypoints in
    input space (ASR warps them with the image)."""
    datasets, packers = [dataset], []
    while datasets:
        ds = datasets.pop()
        datasets += list(getattr(ds, 'datasets', []))
        if hasattr(ds, 'dataset'):
            datasets.append(ds.dataset)
        packers += [t for t in getattr(getattr(ds, 'pipeline', None), 'transforms', [])
                    if isinstance(t, PackPoseInputs)]
    if not packers:
        raise ValueError('AdversarialAugmentationHook: the train pipeline has no PackPoseInputs')
    for t in packers:
        t.pack_transformed = True
