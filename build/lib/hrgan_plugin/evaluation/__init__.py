from .metrics import OcclusionPCKMetric

__all__ = ['OcclusionPCKMetric']
