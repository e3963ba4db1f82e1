"""Checks run by ``tools/train.py`` and ``tools/test.py`` before a run starts,
so that a wrong path gets one line naming the config key and the path."""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Iterator


class DataConfigError(ValueError):
    """A data path in the config does not exist or cannot be parsed."""


def _datasets(cfg: dict, key: str) -> Iterator[tuple[str, dict]]:
    """Yield ``(config key, dataset cfg)`` of a dataloader, through wrappers."""
    loader = cfg.get(key)
    if not loader:
        return
    stack = [(f'{key}.dataset', loader.get('dataset', {}))]
    while stack:
        path, ds = stack.pop()
        if 'datasets' in ds:  # CombinedDataset / ConcatDataset
            stack += [(f'{path}.datasets[{i}]', d) for i, d in enumerate(ds['datasets'])]
        elif 'dataset' in ds:  # RepeatDataset / ClassBalancedDataset
            stack.append((f'{path}.dataset', ds['dataset']))
        else:
            yield path, ds


def _resolve(data_root: str, path: str) -> str:
    return path if osp.isabs(path) or not data_root else osp.join(data_root, path)


def iter_annotation_files(cfg: dict, loaders: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """Yield ``(config key, path)`` of the annotation, detection-box and
    head-box files of the loaders (mmpose joins only ``ann_file`` with
    ``data_root``; the others are taken as given)."""
    for loader in loaders:
        for key, ds in _datasets(cfg, loader):
            if ds.get('ann_file'):
                yield f'{key}.ann_file', _resolve(ds.get('data_root', '') or '', ds['ann_file'])
            for name in ('bbox_file', 'headbox_file'):
                if ds.get(name):
                    yield f'{key}.{name}', ds[name]


def check_data_paths(cfg: dict, loaders: tuple[str, ...]) -> None:
    """Raise :class:`DataConfigError` for the first missing data root, image
    folder or annotation file used by the given dataloaders."""
    for loader in loaders:
        for key, ds in _datasets(cfg, loader):
            root = ds.get('data_root', '') or ''
            if root and not osp.isdir(root):
                raise DataConfigError(
                    f"data root '{root}' ({key}.data_root) does not exist; put the dataset "
                    f"there (see the README, 'Data preparation') or pass --cfg-options "
                    f'{key}.data_root=/path/to/data')
            img_dir = (ds.get('data_prefix') or {}).get('img')
            if img_dir and not osp.isdir(_resolve(root, img_dir)):
                raise DataConfigError(
                    f"image folder '{_resolve(root, img_dir)}' ({key}.data_prefix.img) "
                    'does not exist')
        for key, path in iter_annotation_files(cfg, (loader, )):
            if not osp.isfile(path):
                raise DataConfigError(f"annotation file '{path}' ({key}) does not exist")


def find_invalid_json(cfg: dict, loaders: tuple[str, ...]) -> str | None:
    """Describe the first annotation file of the loaders that is not valid
    JSON, or return ``None``.  Only called after a JSON error, so the happy
    path never parses a file twice."""
    for key, path in iter_annotation_files(cfg, loaders):
        if path.endswith('.json') and osp.isfile(path):
            try:
                with open(path) as f:
                    json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                return f"annotation file '{path}' ({key}) is not valid JSON: {err}"
    return None


class PrecisionConfigError(ValueError):
    """The config asks for a mixed precision the model cannot train in."""


def _optim_wrapper_dtypes(cfg: dict) -> list[str]:
    """The ``dtype`` of ``optim_wrapper`` and of its per-network entries
    (``GANOptimWrapperConstructor``'s ``generator``/``discriminator``)."""
    wrapper = cfg.get('optim_wrapper') or {}
    entries = [wrapper] + [v for v in wrapper.values() if isinstance(v, dict)]
    return [str(e['dtype']).removeprefix('torch.') for e in entries if e.get('dtype') is not None]


def check_mixed_precision(cfg: dict) -> None:
    """Raise :class:`PrecisionConfigError` for bf16 AMP with a model that
    trains through an mmpose head's own ``loss``.

    mmpose 1.3.2's heads (``HeatmapHead``, ``CPMHead``, ``RTMCCHead``, ...)
    compute their training accuracy with ``to_numpy`` of the predictions,
    which are bf16 under ``optim_wrapper.dtype='bfloat16'``; numpy has no
    bf16, so the first iteration stops with ``TypeError: Got unsupported
    ScalarType BFloat16``. ``tools/train.py --amp`` alone trains in fp16 on
    CUDA (mmengine's default dtype there), which works.
    ``AdversarialTopdownPoseEstimator`` computes its accuracy itself, in fp32.
    """
    if 'bfloat16' not in _optim_wrapper_dtypes(cfg):
        return
    model = cfg.get('model') or {}
    if model.get('type') == 'AdversarialTopdownPoseEstimator':
        return
    if (model.get('train_cfg') or {}).get('compute_acc', True) is False:
        return
    head = (model.get('head') or {}).get('type', 'head')
    raise PrecisionConfigError(
        f"optim_wrapper.dtype='bfloat16' stops mmpose's {head} at the first iteration (its "
        'training accuracy hands bf16 predictions to numpy, which has no bf16); train in fp16 '
        '(--amp without optim_wrapper.dtype) or set model.train_cfg.compute_acc=False (no '
        'acc_pose in the log)')
