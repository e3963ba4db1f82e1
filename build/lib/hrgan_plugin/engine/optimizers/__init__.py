from .gan_optim_wrapper_constructor import GANOptimWrapperConstructor

__all__ = ['GANOptimWrapperConstructor']
