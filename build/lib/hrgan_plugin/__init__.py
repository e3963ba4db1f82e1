"""hrgan_plugin: adversarial training for MMPose 1.x.

Importing the package registers its modules into mmpose's registries (and the
``atomic_local`` file backend into mmengine's), and lets torch's
``weights_only`` loader read checkpoints written by earlier versions (see
:mod:`hrgan_plugin.utils.checkpoint_safety`).
"""
from .utils import register_checkpoint_safe_globals, register_http_loader

register_checkpoint_safe_globals()
register_http_loader()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers modules)

__version__ = '0.1.0'
