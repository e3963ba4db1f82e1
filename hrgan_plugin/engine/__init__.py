from .hooks import BoundaryEquilibriumHook, EpochSeedHook, TrainingCurveHook
from .optimizers import GANOptimWrapperConstructor

__all__ = [
    'BoundaryEquilibriumHook', 'EpochSeedHook', 'TrainingCurveHook', 'GANOptimWrapperConstructor'
]
