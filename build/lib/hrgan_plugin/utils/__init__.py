from . import atomic_file_backend  # noqa: F401  (registers the 'atomic_local' file backend)
from .checkpoint_safety import (
    checkpoint_safe_globals,
    register_checkpoint_safe_globals,
    restore_history_buffers,
    to_weights_only,
)
from .errors import TrainingAborted
from .pretrained import PretrainedWeightsUnavailable, check_pretrained_weights, register_http_loader

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals', 'restore_history_buffers',
    'to_weights_only', 'TrainingAborted', 'PretrainedWeightsUnavailable',
    'check_pretrained_weights', 'register_http_loader'
]
