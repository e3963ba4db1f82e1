"""Mechanism checks: does each method do what its paper says it does,
measured on a finished run's val set (:func:`run_mechanism_checks`,
``tools/mechanism_check.py``)?

- :mod:`.plausibility`: HRGAN's discriminator on real vs implausible poses;
- :mod:`.asr`: ASR's bin probabilities vs the pose model's per-bin difficulty;
- :mod:`.aho`: AHO's learned occlusions vs random ones.
"""
from .checks import CheckSettings, MechanismCheckError, run_mechanism_checks

__all__ = ['CheckSettings', 'MechanismCheckError', 'run_mechanism_checks']
