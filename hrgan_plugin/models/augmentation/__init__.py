from .adversarial_augmenter import AdversarialAugmenter, Proposal
from .augmentation_net import AugmentationNet
from .bridge_augmentation_net import BridgeAugmentationNet

__all__ = ['AdversarialAugmenter', 'AugmentationNet', 'BridgeAugmentationNet', 'Proposal']
