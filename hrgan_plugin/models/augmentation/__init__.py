from .adversarial_augmenter import AdversarialAugmenter, Proposal
from .augmentation_net import AugmentationNet
from .bridge_augmentation_net import BridgeAugmentationNet
from .context_warp import ContextWarp

__all__ = ['AdversarialAugmenter', 'AugmentationNet', 'BridgeAugmentationNet', 'ContextWarp',
           'Proposal']
