# Ablation: no boundary equilibrium. k stays at k_init = 1 (L_D = L_real -
# L_fake, a plain energy-based GAN): the slides report such conventional GAN
# variants collapsing.
_base_ = './hrgan_w32_mpii_256x256.py'

model = dict(k_init=1.0)
# without the BoundaryEquilibriumHook (the first of the HRGAN hooks)
custom_hooks = [h for h in _base_.custom_hooks if h['type'] != 'BoundaryEquilibriumHook']
