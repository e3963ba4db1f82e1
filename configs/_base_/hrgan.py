# Fragment: the HRGAN block (HRGAN slides). Keys are prefixed `hrgan_` so the
# fragment combines with any top-down heatmap config as a second base:
#
#   _base_ = ['./hrnet_w32_coco_256x192.py', './_base_/hrgan.py']
#   model = _base_.hrgan_model                 # G = the base's model, plus D
#   optim_wrapper = dict(_base_.hrgan_optim_wrapper, generator=_base_.optim_wrapper)
#   model_wrapper_cfg = _base_.hrgan_model_wrapper_cfg
#   custom_hooks = _base_.custom_hooks + _base_.hrgan_hooks
#
# The discriminator D(C, X) is the reference code's: HRNet-W32 without its
# stem, a BEGAN autoencoder on the image (resized to the heatmaps) and the K
# heatmaps (its num_keypoints comes from the head). Boundary equilibrium with
# gamma 0.5, lambda_k 1e-3, k_0 0. lambda_G 2e-4: the reference's 1e-4 against
# HRNet's 0.5-scaled MSE, expressed against mmpose's KeypointMSELoss (no 0.5).
# D trained by Adam 8e-5 (slides), the generator by its base config's optimiser.

hrgan_model = dict(
    type='AdversarialTopdownPoseEstimator',
    discriminator=dict(type='HRNetDiscriminator'),
    adversarial_loss=dict(type='BEGANLoss', reduction='mean', adv_target='gt'),
    lambda_g=2e-4,
    disc_steps=1,
    warmup_iters=0,
    k_init=0.0)

# The cheaper discriminator of the `_small-d` configs: an hourglass autoencoder
# (0.27M parameters against the reference's 28.5M; docs/cost_and_speed.md).
hrgan_small_discriminator = dict(type='PoseDiscriminator', feat_channels=32, depth=4)

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
# How far k_t moves (docs/hrgan.md, 'The losses and the controller'): on the
# rendered benchmark gamma*L_real - L_fake averages about 2.6e-3 per iteration
# (k_t reaches 0.384 in 148 iterations at lambda_k 1). If it kept that size,
# lambda_k 1e-3 would move k_t by about 2.6e-6 per iteration, about 0.65 over
# MPII's 2.5e5 iterations and 0.8 over COCO's 3.0e5: an extrapolation, not a
# measurement. Short schedules need a larger lambda_k (the quickstart uses 1).
# The divergence guard stops the run on a non-finite loss, or when D collapses
# (L_real below 1e-8, i.e. a perfect reconstruction of real heatmaps) or
# L_fake explodes (above 100; an untrained reference D starts near 3, a
# trained one near 1e-3) for 200 consecutive iterations.
hrgan_hooks = [
    dict(type='BoundaryEquilibriumHook', gamma=0.5, lambda_k=1e-3),
    dict(type='TrainingCurveHook',
         keys=['k_t', 'loss_real', 'loss_fake', 'M_global', 'loss_adv', 'adv_grad_ratio'],
         out_file='equilibrium.png'),
    dict(type='DivergenceGuardHook', limits=dict(loss_real=(1e-8, None), loss_fake=(None, 100.0)),
         patience=200),
]
