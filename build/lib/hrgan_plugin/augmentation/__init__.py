"""The adversarial augmentation algorithm's tensor operations (ASR bins,
warps, AHO masks), used by ``AdversarialAugmentationHook``."""
