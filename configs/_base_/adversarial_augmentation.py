# Fragment: adversarial data augmentation (ASR + AHO, Peng et al. 2018) as a
# training hook for any top-down heatmap config. Keys are prefixed
# `adversarial_augmentation_` so the fragment combines as a second base:
#
#   _base_ = ['./hrnet_w32_mpii_256x256.py', './_base_/adversarial_augmentation.py']
#   custom_hooks = _base_.custom_hooks + _base_.adversarial_augmentation_hooks
#
# Each batch is split into random / ASR / AHO thirds; the augmentation network
# pre-trains for 500 iterations, then learns online (RMSprop 5e-5) from the
# reward/penalty targets. Its KL loss and the share of harder samples are
# plotted to <work_dir>/augmentation_curves.png. Ablations replace the hook's
# `split`, e.g. dict(_base_.adversarial_augmentation_hook, split=(1, 1, 0)).

adversarial_augmentation_hook = dict(
    type='AdversarialAugmentationHook', split=(1, 1, 1), pretrain_iters=500,
    optimizer=dict(type='RMSprop', lr=5e-5))
adversarial_augmentation_curves = dict(
    type='TrainingCurveHook', keys=['aug_kl', 'aug_harder'], out_file='augmentation_curves.png')
# stops the run on a non-finite loss (the pose loss, or the augmenter's KL)
adversarial_augmentation_guard = dict(type='DivergenceGuardHook',
                                      limits=dict(aug_kl=(None, None)))
adversarial_augmentation_hooks = [adversarial_augmentation_hook, adversarial_augmentation_curves,
                                  adversarial_augmentation_guard]
