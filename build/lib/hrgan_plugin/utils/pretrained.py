"""Clear failure when pretrained weights cannot be downloaded.

mmpose's real configs initialise backbones from ImageNet weights given by URL
(``init_cfg=dict(type='Pretrained', checkpoint='https://...')``).  Without a
network the stock flow fails deep inside urllib; this module turns that into
one :class:`PretrainedWeightsUnavailable` line telling the user how to point
at a local copy or train from scratch, both before the run starts
(:func:`check_pretrained_weights`, used by ``tools/train.py``) and at load
time for every entry point (:func:`register_http_loader`).
"""
from __future__ import annotations

import os
import os.path as osp
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

from mmengine.runner import CheckpointLoader


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights named by URL are neither cached nor downloadable."""


def _hub_cache_dir() -> str:
    from torch.hub import get_dir
    return osp.join(get_dir(), 'checkpoints')


def is_cached(url: str) -> bool:
    """Whether the URL's file is already in torch's hub cache."""
    return osp.isfile(osp.join(_hub_cache_dir(), osp.basename(urlparse(url).path)))


def unavailable_message(url: str, key: str, reason: str) -> str:
    name = osp.basename(urlparse(url).path)
    return (f'cannot fetch pretrained weights {url} for {key} ({reason}); download {name} and '
            f'pass --cfg-options {key}.checkpoint=/path/to/{name} (or place it in '
            f'{_hub_cache_dir()}), or train from scratch with --cfg-options {key}=None')


def iter_url_init_cfgs(cfg: dict, prefix: str = 'model') -> Iterator[tuple[str, str]]:
    """Yield ``(config key, url)`` of every ``Pretrained`` init_cfg given by URL."""
    if not isinstance(cfg, dict):
        return
    for key, value in cfg.items():
        path = f'{prefix}.{key}'
        if key == 'init_cfg':
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                ckpt = item.get('checkpoint', '') if isinstance(item, dict) else ''
                if isinstance(ckpt, str) and ckpt.startswith(('http://', 'https://')):
                    yield path, ckpt
        elif isinstance(value, dict):
            yield from iter_url_init_cfgs(value, path)


def _host_reachable(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == 'https' else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError as err:
        return False, f'no network: {err.__class__.__name__}: {err}'
    return True, ''


def check_pretrained_weights(model_cfg: dict) -> None:
    """Raise :class:`PretrainedWeightsUnavailable` if a URL init_cfg can't be met."""
    if os.environ.get('HRGAN_SKIP_PRETRAINED_CHECK'):
        return
    for key, url in iter_url_init_cfgs(model_cfg):
        if is_cached(url):
            continue
        ok, reason = _host_reachable(url)
        if not ok:
            raise PretrainedWeightsUnavailable(unavailable_message(url, key, reason))


def register_http_loader() -> None:
    """Wrap mmengine's http(s) checkpoint loader so a failed download raises
    :class:`PretrainedWeightsUnavailable` with the same advice."""
    original = CheckpointLoader._schemes.get('https://')
    if original is None or getattr(original, '_hrgan_wrapped', False):
        return

    def load_from_http(filename, map_location=None, **kwargs):
        try:
            return original(filename, map_location, **kwargs)
        except OSError as err:  # URLError, socket errors and timeouts
            raise PretrainedWeightsUnavailable(
                unavailable_message(filename, 'model.<module>.init_cfg',
                                    f'{err.__class__.__name__}: {err}')) from err

    load_from_http._hrgan_wrapped = True
    CheckpointLoader.register_scheme(prefixes=('http://', 'https://'), force=True)(
        load_from_http)
