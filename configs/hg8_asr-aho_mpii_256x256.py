# The HRU stacked hourglass (8 stacks, transposed-convolution upsampling, the
# 210-epoch hourglass schedule of _base_/hourglass_mpii.py) on MPII with
# adversarial data augmentation (ASR + AHO), the paper's setting with our
# hourglass: the reference augmentation network (BridgeAugmentationNet, 12
# residual units, 2.57M parameters) reads the first hourglass's 5 bridge
# features (skips at 64, 32, 16, 8 and the 4x4 neck); AHO occludes the bridge
# features of every stack with the same mask (the hook's hourglass defaults).
_base_ = ['./_base_/hourglass_mpii.py', './_base_/adversarial_augmentation.py']

model = dict(backbone=dict(unit='hru', upsample='deconv'))
custom_hooks = _base_.custom_hooks + [
    dict(_base_.adversarial_augmentation_hook, aug_net=dict(type='BridgeAugmentationNet')),
    *_base_.adversarial_augmentation_hooks[1:]]
