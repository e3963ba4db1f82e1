"""Paired multi-seed experiments: specs, seed statistics and reports
(driven by ``tools/experiment.py``)."""
from .spec import Arm, ExperimentSpec, SpecError, load_spec
from .statistics import PairedDifference, Summary, paired_difference, summarise

__all__ = ['Arm', 'ExperimentSpec', 'SpecError', 'load_spec', 'PairedDifference', 'Summary',
           'paired_difference', 'summarise']
