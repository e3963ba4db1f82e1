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


def pack_for_recrop(dataset, extra_keys: tuple[str, ...] = ()) -> None:
    """Switch every ``PackPoseInputs`` of ``dataset`` (and of the datasets it
    wraps) to ``pack_transformed=True`` and add ``sample_idx`` (and
    ``extra_keys``) to its meta keys, so samples carry their keypoints in
    input space and the index of the annotation they came from."""
    packers = [t for ds in pipeline_datasets(dataset)
               for t in getattr(getattr(ds, 'pipeline', None), 'transforms', [])
               if isinstance(t, PackPoseInputs)]
    if not packers:
        raise ValueError('AdversarialAugmentationHook: the train pipeline has no PackPoseInputs')
    for t in packers:
        t.pack_transformed = True
        t.meta_keys = (*t.meta_keys,
                       *(k for k in ('sample_idx', *extra_keys) if k not in t.meta_keys))


def insert_after(dataset, kind: type, transform) -> None:
    """Insert ``transform`` after the first ``kind`` transform of every
    pipeline of ``dataset`` (and of the datasets it wraps) that has one and
    does not hold a transform of ``transform``'s type yet."""
    for ds in pipeline_datasets(dataset):
        transforms = getattr(getattr(ds, 'pipeline', None), 'transforms', None)
        if transforms is None or any(type(t) is type(transform) for t in transforms):
            continue
        at = next((i for i, t in enumerate(transforms) if isinstance(t, kind)), None)
        if at is not None:
            transforms.insert(at + 1, transform)
