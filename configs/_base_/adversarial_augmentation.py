# Fragment: adversarial data augmentation (ASR + AHO, Peng et al. 2018) as a
# training hook for any top-down heatmap config. Keys are prefixed
# `adversarial_augmentation_` so the fragment combines as a second base:
#
#   _base_ = ['./hrnet_w32_mpii_256x256.py', './_base_/adversarial_augmentation.py']
#   custom_hooks = _base_.custom_hooks + _base_.adversarial_augmentation_hooks
#
# The paper's three stages: `pose_pretrain_epochs` of plain training (set 0
# when `load_from` gives a trained pose net), `agent_pretrain_iters` updates
# (a phase of their own before the next epoch) with the pose net frozen while
# the augmentation network learns per-image targets (RMSprop 2.5e-4), then
# joint training: each batch split into random / ASR /
# AHO thirds, the augmentation network learning online (RMSprop 5e-5) from
# the reward/penalty targets (PCKh@0.5 of each draw against a random
# augmentation of the same image). Its KL loss and the share of harder
# draws are plotted to <work_dir>/augmentation_curves.png. Ablations replace
# the hook's `split`, e.g. dict(_base_.adversarial_augmentation_hook, split=(1, 1, 0)).

adversarial_augmentation_hook = dict(
    type='AdversarialAugmentationHook', split=(1, 1, 1), pose_pretrain_epochs=10,
    agent_pretrain_iters=1800, agent_pretrain_lr=2.5e-4, optimizer=dict(type='RMSprop', lr=5e-5))
# COCO has no head keypoints: hardness by PCK normalised by the bbox
# (0.05 x the longer side is about PCKh@0.5 for an adult)
adversarial_augmentation_bbox_pck = dict(hardness_norm='bbox', hardness_thr=0.05)
adversarial_augmentation_curves = dict(
    type='TrainingCurveHook', keys=['aug_kl', 'aug_harder'], out_file='augmentation_curves.png')
# stops the run on a non-finite loss (the pose loss, or the augmenter's KL)
adversarial_augmentation_guard = dict(type='DivergenceGuardHook',
                                      limits=dict(aug_kl=(None, None)))
adversarial_augmentation_hooks = [adversarial_augmentation_hook, adversarial_augmentation_curves,
                                  adversarial_augmentation_guard]
