from .hooks import (
                    AdversarialAugmentationHook,
                    BoundaryEquilibriumHook,
                    EpochSeedHook,
                    TrainingCurveHook,
)
from .optimizers import GANOptimWrapperConstructor

__all__ = [
    'AdversarialAugmentationHook',
    'BoundaryEquilibriumHook',
    'EpochSeedHook',
    'TrainingCurveHook',
    'GANOptimWrapperConstructor',
]
