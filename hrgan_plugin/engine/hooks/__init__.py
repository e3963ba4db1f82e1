from .equilibrium_hook import BoundaryEquilibriumHook
from .training_curve_hook import TrainingCurveHook

__all__ = ['BoundaryEquilibriumHook', 'TrainingCurveHook']
