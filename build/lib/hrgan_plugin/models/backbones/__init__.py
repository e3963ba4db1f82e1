from .hru_hourglass import HRUHourglassNet

__all__ = ['HRUHourglassNet']
