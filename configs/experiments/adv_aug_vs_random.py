"""Adversarial data augmentation (ASR + AHO, the paper's three stages) vs
random augmentation on the synthetic occlusion benchmark (MPII format).

Stage 1 is shared: per seed, one `pretrain` run trains the quickstart reduced
HRNet at 128x128 with mmpose's random augmentation for 3 epochs over the
first 1500 training people; every arm of that seed starts from its last
checkpoint (`load_from`), so the arms are paired and stage 1 is paid once.
Arms, 2 further epochs each: `random`, random augmentation only (baseline);
`asr_aho`, AdversarialAugmentationHook with the pose net frozen for 10
iterations while the augmentation net learns per-image targets (stage 2),
then joint training on batches split 1:1:1 into random / ASR / AHO rows
(stage 3); `asr` (split 1:1:0) and `aho` (split 1:0:1). The adversarial arms
make fewer pose-net updates than `random` (stage 2 uses 10 of their 87
iterations). Data: the `occlusion` preset of tools/make_synthetic_dataset.py
(about 29% of labelled keypoints hidden). Metrics on the synthetic val set:
PCKh@0.5 (MpiiPCKAccuracy, logged as `PCK`, percent), PCKh@0.5 over visible /
occluded joints and the implausible-pose and implausible-bone rates
(OcclusionPCKMetric, fractions).

Budget: about 2.5 minutes per pretrain, 1.7 per `random` run and 3-3.5 per
adversarial run on a 2-core CPU, about 75 minutes for 5 seeds. Far shorter
than the paper's schedule (10 + ~2 epochs of pre-training, then joint
training to convergence): this measures what the method does to a short fit
of a pre-trained pose net, not its converged effect.
"""
_base_ = './_base_/occlusion_mpii.py'

_adv_config = 'configs/quickstart/hrnet_asr-aho_synthetic-mpii_128x128.py'
# custom_hooks[4]: the augmentation hook; stage 1 comes from `pretrain`
_stages = {'custom_hooks.4.pose_pretrain_epochs': 0, 'custom_hooks.4.agent_pretrain_iters': 10}
pretrain = dict(config='configs/quickstart/hrnet_synthetic-mpii_128x128.py',
                cfg_options={'train_cfg.max_epochs': 3, 'train_cfg.val_interval': 3,
                             'param_scheduler.1.end': 3,
                             'default_hooks.checkpoint.interval': 3})
arms = dict(
    random=dict(config='configs/quickstart/hrnet_synthetic-mpii_128x128.py'),
    asr_aho=dict(config=_adv_config, cfg_options=_stages),
    asr=dict(config=_adv_config, cfg_options={**_stages, 'custom_hooks.4.split': (1, 1, 0)}),
    aho=dict(config=_adv_config, cfg_options={**_stages, 'custom_hooks.4.split': (1, 0, 1)}),
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
