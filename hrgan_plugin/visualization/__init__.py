from .learned_distributions import distributions_used, plot_learned_distributions
from .training_plots import plot_curves, plot_distributions

__all__ = ['distributions_used', 'plot_curves', 'plot_distributions',
           'plot_learned_distributions']
