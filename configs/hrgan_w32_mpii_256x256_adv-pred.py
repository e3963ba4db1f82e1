# Ablation: adversarial target C^ (Chou et al.: L_adv = ||C^ - D(C^, X)||^2)
# instead of the slides' ground truth C.
_base_ = './hrgan_w32_mpii_256x256.py'

model = dict(adversarial_loss=dict(adv_target='pred'))
