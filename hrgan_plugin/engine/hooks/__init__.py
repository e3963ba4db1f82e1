from .adversarial_augmentation_hook import AdversarialAugmentationHook
from .channels_last_hook import ChannelsLastHook
from .divergence_guard_hook import DivergenceError, DivergenceGuardHook
from .epoch_seed_hook import EpochSeedHook
from .equilibrium_hook import BoundaryEquilibriumHook
from .rank_zero_logger_hook import RankZeroLoggerHook
from .safe_checkpoint_hook import NonFiniteWeightsError, SafeCheckpointHook
from .training_curve_hook import TrainingCurveHook

__all__ = [
    'AdversarialAugmentationHook',
    'BoundaryEquilibriumHook',
    'ChannelsLastHook',
    'DivergenceError',
    'DivergenceGuardHook',
    'EpochSeedHook',
    'NonFiniteWeightsError',
    'RankZeroLoggerHook',
    'SafeCheckpointHook',
    'TrainingCurveHook',
]
