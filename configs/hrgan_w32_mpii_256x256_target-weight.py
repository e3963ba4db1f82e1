# Ablation ("target weight" in the slides): every BEGAN term weights each
# joint's error by its keypoint target weight.
_base_ = './hrgan_w32_mpii_256x256.py'

model = dict(adversarial_loss=dict(use_target_weight=True))
