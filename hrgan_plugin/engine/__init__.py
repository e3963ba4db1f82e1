from .hooks import TrainingCurveHook

__all__ = ['TrainingCurveHook']
