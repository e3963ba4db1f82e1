# Fragment: the quickstart's reduced HRNet (W18 widths, fewer modules and
# blocks, trained from scratch) and its short CPU recipe. Keys are prefixed
# `quickstart_` so the fragment combines with a stock HRNet config:
#
#   _base_ = ['../hrnet_w32_coco_256x192.py', './_base_/reduced_hrnet.py']
#   model = dict(backbone=_base_.quickstart_backbone, head=dict(in_channels=18, ...))
#   optim_wrapper = _base_.quickstart_optim_wrapper
#   ...
quickstart_data_root = 'data/synthetic/'
quickstart_max_epochs = 7

quickstart_backbone = dict(
    extra=dict(
        stage1=dict(num_blocks=(2, )),
        stage2=dict(num_blocks=(2, 2), num_channels=(18, 36)),
        stage3=dict(num_modules=2, num_blocks=(2, 2, 2), num_channels=(18, 36, 72)),
        stage4=dict(num_modules=1, num_blocks=(2, 2, 2, 2), num_channels=(18, 36, 72, 144))),
    init_cfg=None)

quickstart_train_cfg = dict(max_epochs=quickstart_max_epochs, val_interval=quickstart_max_epochs)
quickstart_optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=2e-3))
quickstart_param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=quickstart_max_epochs, eta_min=1e-5,
         by_epoch=True),
]
quickstart_train_loader = dict(num_workers=2, pin_memory=False, batch_size=32)  # CPU
quickstart_val_loader = dict(num_workers=2, pin_memory=False, batch_size=64)
quickstart_default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=quickstart_max_epochs))
quickstart_custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'acc_pose'], interval=5),
    dict(type='ChannelsLastHook'),  # GPU only; see docs/cost_and_speed.md
]
