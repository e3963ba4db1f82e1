from .adversarial_augmenter import AdversarialAugmenter, Proposal
from .augmentation_net import AugmentationNet

__all__ = ['AdversarialAugmenter', 'AugmentationNet', 'Proposal']
