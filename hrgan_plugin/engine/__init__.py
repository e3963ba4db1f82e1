from .hooks import BoundaryEquilibriumHook, TrainingCurveHook
from .optimizers import GANOptimWrapperConstructor

__all__ = ['BoundaryEquilibriumHook', 'TrainingCurveHook', 'GANOptimWrapperConstructor']
