# The HRU stacked hourglass (8 stacks, transposed-convolution upsampling, the
# 210-epoch hourglass schedule of _base_/hourglass_mpii.py) on MPII with
# adversarial data augmentation (ASR + AHO), the paper's setting with our
# hourglass: AHO occludes the stem features, the augmentation network reads
# the stem and the first hourglass.
_base_ = ['./_base_/hourglass_mpii.py', './_base_/adversarial_augmentation.py']

model = dict(backbone=dict(unit='hru', upsample='deconv'))
custom_hooks = _base_.custom_hooks + _base_.adversarial_augmentation_hooks
