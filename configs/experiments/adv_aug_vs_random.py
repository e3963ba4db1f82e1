"""Adversarial data augmentation (ASR + AHO) vs random augmentation on the
synthetic occlusion benchmark (MPII format).

Arms, paired by seed (same pose-net initialisation and data order): `random`,
the quickstart reduced HRNet at 128x128 with mmpose's random augmentation
(baseline); `asr_aho`, the same with AdversarialAugmentationHook splitting
each batch 1:1:1 into random / ASR / AHO rows; `asr` (split 1:1:0) and `aho`
(split 1:0:1). Data: the `occlusion` preset of tools/make_synthetic_dataset.py
(about 29% of labelled keypoints hidden). Metrics on the synthetic val set:
PCKh@0.5 (MpiiPCKAccuracy, logged as `PCK`, percent), PCKh@0.5 over
visible / occluded joints and the implausible-pose and implausible-bone
rates (OcclusionPCKMetric, fractions).

Budget: 2 epochs over the first 1500 training people (87 iterations at batch
32; the hook pre-trains its network for the first 30), about 1.6 (random) to
2 (ASR/AHO) minutes per run on a 2-core CPU, about 38 minutes for 4 arms x 5
seeds. Far shorter than the paper's schedule: this measures what the hook
does to a short fit, not its converged effect.

The report in docs/evidence/adv_aug_vs_random was measured on the code before the
fidelity fixes of the method (see README, Evidence).
"""
_base_ = './_base_/occlusion_mpii.py'

_adv_config = 'configs/quickstart/hrnet_asr-aho_synthetic-mpii_128x128.py'
_pretrain = {'custom_hooks.4.pretrain_iters': 30}  # custom_hooks[4]: the augmentation hook
arms = dict(
    random=dict(config='configs/quickstart/hrnet_synthetic-mpii_128x128.py'),
    asr_aho=dict(config=_adv_config, cfg_options=_pretrain),
    asr=dict(config=_adv_config, cfg_options={**_pretrain, 'custom_hooks.4.split': (1, 1, 0)}),
    aho=dict(config=_adv_config, cfg_options={**_pretrain, 'custom_hooks.4.split': (1, 0, 1)}),
)
baseline = 'random'
seeds = [0, 1, 2, 3, 4]

curves = ['loss_kpt', 'aug_kl', 'aug_harder']

schedule = {
    'train_cfg.max_epochs': 2,
    'train_cfg.val_interval': 2,
    'param_scheduler.1.end': 2,
    'default_hooks.checkpoint.interval': 2,
    'train_dataloader.dataset.indices': 1500,
}
