"""Reaching into a built dataset's pipeline."""
from __future__ import annotations

from mmpose.datasets.transforms import PackPoseInputs


def pipeline_datasets(dataset) -> list:
    """``dataset`` and every dataset it wraps."""
    found, todo = [], [dataset]
    while todo:
        ds = todo.pop()
        found.append(ds)
        todo += list(getattr(ds, 'datasets', []))
        if hasattr(ds, 'dataset'):
            todo.append(ds.dataset)
    return found


def pack_for_recrop(dataset) -> None:
    """Switch every ``PackPoseInputs`` of ``dataset`` (and of the datasets it
    wraps) to ``pack_transformed=True`` and add ``sample_idx`` to its meta
    keys, so samples carry their keypoints in input space and the index of
    the annotation they came from (ASR re-crops it)."""
    packers = [t for ds in pipeline_datasets(dataset)
               for t in getattr(getattr(ds, 'pipeline', None), 'transforms', [])
               if isinstance(t, PackPoseInputs)]
    if not packers:
        raise ValueError('AdversarialAugmentationHook: the train pipeline has no PackPoseInputs')
    for t in packers:
        t.pack_transformed = True
        if 'sample_idx' not in t.meta_keys:
            t.meta_keys = (*t.meta_keys, 'sample_idx')
