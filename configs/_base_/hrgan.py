# Fragment: the HRGAN block (HRGAN slides). Keys are prefixed `hrgan_` so the
# fragment combines with any top-down heatmap config as a second base:
#
#   _base_ = ['./hrnet_w32_coco_256x192.py', './_base_/hrgan.py']
#   model = _base_.hrgan_model                 # G = the base's model, plus D
#   optim_wrapper = dict(_base_.hrgan_optim_wrapper, generator=_base_.optim_wrapper)
#   model_wrapper_cfg = _base_.hrgan_model_wrapper_cfg
#   custom_hooks = _base_.custom_hooks + _base_.hrgan_hooks
#
# The discriminator D(C, X) is a BEGAN autoencoder conditioned on the image
# (its num_keypoints comes from the head); boundary equilibrium with gamma 0.5,
# lambda_k 1e-3, k_0 0; lambda_G 1e-4; D trained by Adam 8e-5 (slides), the
# generator by its base config's optimiser.

hrgan_model = dict(
    type='AdversarialTopdownPoseEstimator',
    discriminator=dict(type='PoseDiscriminator', feat_channels=32, depth=4),
    adversarial_loss=dict(type='BEGANLoss', reduction='mean', adv_target='gt'),
    lambda_g=1e-4,
    disc_steps=1,
    warmup_iters=0,
    k_init=0.0)

# `generator` is added by the leaf config (the base's own optim_wrapper).
hrgan_optim_wrapper = dict(
    _delete_=True,
    constructor='GANOptimWrapperConstructor',
    discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=8e-5)))

# Multi-GPU: every child module in its own DDP, the model's train_step drives both.
hrgan_model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=False)

# k_t update after every iteration, and its curves (with L_real, L_fake,
# M_global, the generator's adversarial loss and adv_grad_ratio, the
# adversarial term's share of G's gradient, measured every 50 iterations) in
# <work_dir>/equilibrium.png.
# The divergence guard stops the run on a non-finite loss, or when D collapses
# (L_real below 1e-8, i.e. a perfect reconstruction of real heatmaps) or
# L_fake explodes (above 1, heatmap-MSE scale: typical values are 1e-3) for
# 200 consecutive iterations.
hrgan_hooks = [
    dict(type='BoundaryEquilibriumHook', gamma=0.5, lambda_k=1e-3),
    dict(type='TrainingCurveHook',
         keys=['k_t', 'loss_real', 'loss_fake', 'M_global', 'loss_adv', 'adv_grad_ratio'],
         out_file='equilibrium.png'),
    dict(type='DivergenceGuardHook', limits=dict(loss_real=(1e-8, None), loss_fake=(None, 1.0)),
         patience=200),
]
