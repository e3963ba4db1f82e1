from .occlusion_pck_metric import OcclusionPCKMetric

__all__ = ['OcclusionPCKMetric']
