from .training_plots import plot_curves, plot_distributions, plot_learned_distributions

__all__ = ['plot_curves', 'plot_distributions', 'plot_learned_distributions']
