"""Parameter counts the documentation quotes for the training-only networks
(docs/hrgan.md, docs/adversarial_augmentation.md): the discriminators and the
augmentation networks as the configs build them."""
import pytest
from mmpose.registry import MODELS

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)


def _count(cfg: dict) -> int:
    return sum(p.numel() for p in MODELS.build(cfg).parameters())


@pytest.mark.parametrize('cfg,params', [
    # the `_small-d` configs: configs/_base_/hrgan.py hrgan_small_discriminator
    (dict(type='PoseDiscriminator', feat_channels=32, depth=4, num_keypoints=16), 271_344),
    (dict(type='PoseDiscriminator', feat_channels=32, depth=4, num_keypoints=17), 271_665),
    # the quickstart HRGAN's discriminator
    (dict(type='PoseDiscriminator', feat_channels=16, depth=3, num_keypoints=17), 55_745),
    # AugmentationNet on HRNet-W32's stage 3 (32, 64, 128 channels)
    (dict(type='AugmentationNet', in_channels=[32, 64, 128]), 52_625),
    # BridgeAugmentationNet on the 8-stack hourglass's 5 bridge features
    (dict(type='BridgeAugmentationNet', in_channels=[256] * 5), 2_572_561),
])
def test_documented_parameter_counts(cfg, params):
    assert _count(cfg) == params
