from .checkpoint_safety import checkpoint_safe_globals, register_checkpoint_safe_globals
from .pretrained import PretrainedWeightsUnavailable, check_pretrained_weights, register_http_loader

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals',
    'PretrainedWeightsUnavailable', 'check_pretrained_weights', 'register_http_loader'
]
