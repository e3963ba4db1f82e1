"""BEGAN pieces with hand-computed values: the loss terms, the k_t update and
hook, and the discriminator's shapes and initialisation."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmpose.registry import HOOKS, MODELS

import hrgan_plugin  # noqa: F401
from hrgan_plugin.engine.hooks.equilibrium_hook import equilibrium_update

# C (real), D(C), C^ (fake), D(C^): N=1, K=2, H=1, W=2
REAL = torch.tensor([[[[1.0, 0.0]], [[0.0, 0.5]]]])
RECON_REAL = torch.zeros(1, 2, 1, 2)
FAKE = torch.tensor([[[[0.5, 0.5]], [[0.0, 0.0]]]])
RECON_FAKE = torch.tensor([[[[0.5, 0.0]], [[0.0, 2.0]]]])


@pytest.mark.parametrize('reduction,l_real,l_fake,l_adv_gt', [
    # squared errors: real [1, 0, 0, .25], fake [0, .25, 0, 4], adv-gt [.25, 0, 0, 2.25]
    ('sum', 1.25, 4.25, 2.5),
    ('mean', 0.3125, 1.0625, 0.625),
])
def test_began_terms(reduction, l_real, l_fake, l_adv_gt):
    loss = MODELS.build(dict(type='BEGANLoss', reduction=reduction))
    out = loss.discriminator_losses(RECON_REAL, REAL, RECON_FAKE, FAKE, k_t=0.5)
    assert out['loss_real'].item() == pytest.approx(l_real)
    assert out['loss_fake'].item() == pytest.approx(l_fake)
    assert out['loss_d'].item() == pytest.approx(l_real - 0.5 * l_fake)
    assert loss.adversarial_loss(RECON_FAKE, REAL, FAKE).item() == pytest.approx(l_adv_gt)
    pred_target = MODELS.build(dict(type='BEGANLoss', reduction=reduction, adv_target='pred'))
    assert pred_target.adversarial_loss(RECON_FAKE, REAL, FAKE).item() == pytest.approx(l_fake)


def test_sum_reduction_averages_over_the_batch():
    loss = MODELS.build(dict(type='BEGANLoss', reduction='sum'))
    two = loss.energy(RECON_FAKE.repeat(2, 1, 1, 1), FAKE.repeat(2, 1, 1, 1))
    assert two.item() == pytest.approx(4.25)


def test_target_weight_masks_joints():
    loss = MODELS.build(dict(type='BEGANLoss', reduction='sum', use_target_weight=True))
    w = torch.tensor([[1.0, 0.0]])
    assert loss.energy(RECON_REAL, REAL, w).item() == pytest.approx(1.0)
    assert loss.energy(RECON_FAKE, FAKE, w).item() == pytest.approx(0.25)  # joint 0: [0, .25]
    w = torch.tensor([[0.5, 2.0]])
    assert loss.energy(RECON_FAKE, FAKE, w).item() == pytest.approx(0.5 * 0.25 + 2.0 * 4)
    with pytest.raises(ValueError, match='keypoint weights'):
        loss.energy(RECON_REAL, REAL)


def test_began_loss_rejects_bad_options():
    with pytest.raises(ValueError, match='reduction'):
        MODELS.build(dict(type='BEGANLoss', reduction='max'))
    with pytest.raises(ValueError, match='adv_target'):
        MODELS.build(dict(type='BEGANLoss', adv_target='real'))


@pytest.mark.parametrize('k_t,l_real,l_fake,k_next,m_global', [
    (0.3, 2.0, 0.5, 0.35, 2.5),      # 0.3 + 0.1 * (0.5 * 2 - 0.5)
    (0.98, 2.0, 0.5, 1.0, 2.5),      # 1.03 clipped to 1
    (0.01, 1.0, 2.0, 0.0, 2.5),      # 0.01 - 0.15 clipped to 0; M = 1 + |0.5 - 2|
])
def test_equilibrium_update(k_t, l_real, l_fake, k_next, m_global):
    k, m = equilibrium_update(k_t, l_real, l_fake, gamma=0.5, lambda_k=0.1)
    assert k == pytest.approx(k_next)
    assert m == pytest.approx(m_global)


class _Runner:
    def __init__(self, model):
        self.model = model
        self.message_hub = MessageHub.get_instance('test_equilibrium_hook')


def test_equilibrium_hook_updates_and_logs_k_t():
    model = torch.nn.Module()
    model.register_buffer('k_t', torch.tensor(0.3))
    runner = _Runner(model)
    hook = HOOKS.build(dict(type='BoundaryEquilibriumHook', gamma=0.5, lambda_k=0.1))
    hook.before_train(runner)
    hook.after_train_iter(runner, 0, outputs=dict(loss_real=torch.tensor(2.0),
                                                  loss_fake=torch.tensor(0.5)))
    assert model.k_t.item() == pytest.approx(0.35)
    assert runner.message_hub.get_scalar('train/k_t').current() == pytest.approx(0.35)
    assert runner.message_hub.get_scalar('train/M_global').current() == pytest.approx(2.5)
    # warm-up iterations log no D losses and leave k_t alone
    hook.after_train_iter(runner, 1, outputs=dict(loss_kpt=torch.tensor(1.0)))
    assert model.k_t.item() == pytest.approx(0.35)
    with pytest.raises(TypeError, match='k_t'):
        hook.before_train(_Runner(torch.nn.Linear(1, 1)))


def test_discriminator_shapes_and_init():
    disc = MODELS.build(dict(type='PoseDiscriminator', num_keypoints=5, feat_channels=16,
                             depth=2))
    disc.init_weights()
    heatmaps = torch.rand(2, 5, 16, 12)
    out = disc(heatmaps, torch.rand(2, 3, 64, 48))
    assert out.shape == (2, 5, 16, 12)
    assert out.abs().max().item() < 0.05  # final layer ~ N(0, 0.001^2), zero bias
    assert torch.count_nonzero(disc.final_layer.bias) == 0
    with pytest.raises(ValueError, match='divisible'):
        disc(torch.rand(1, 5, 10, 12), torch.rand(1, 3, 40, 48))
    with pytest.raises(ValueError, match='5 heatmap channels'):
        disc(torch.rand(1, 4, 16, 12), torch.rand(1, 3, 64, 48))


def test_discriminator_norm_cfg_reaches_every_level():
    disc = MODELS.build(dict(type='PoseDiscriminator', num_keypoints=5, feat_channels=16,
                             depth=3, norm_cfg=dict(type='GN', num_groups=4)))
    norms = [type(m).__name__ for m in disc.modules()
             if isinstance(m, (torch.nn.GroupNorm, torch.nn.BatchNorm2d))]
    assert norms and set(norms) == {'GroupNorm'}
    # per-sample normalisation: a sample's reconstruction ignores its batch mates
    x, img = torch.rand(4, 5, 16, 16), torch.rand(4, 3, 64, 64)
    torch.testing.assert_close(disc(x, img)[:2], disc(x[:2], img[:2]))


# ---------------------------------------------------------------- train_step
