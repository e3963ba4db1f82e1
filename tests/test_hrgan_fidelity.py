"""HRGAN as the reference code builds it: the HRNet discriminator, real and
fake in separate D passes, the loss-scale guard, the adversarial-strength
meter, the GAN ablations' loss and classifier, and the shared recipe."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmpose.registry import MODELS
from utils import GAN_K as K
from utils import (
    REPO,
    gan_optim,
    run_tool,
    scalar_records,
    synthetic_options,
    tiny_gan_batch,
    tiny_hrgan,
    tiny_hrgan_cfg,
)

import hrgan_plugin  # noqa: F401
from hrgan_plugin.models import ClassifierDiscriminator, HRNetDiscriminator

CONFIGS = osp.join(REPO, 'configs')


# ------------------------------------------------------------ discriminator
@pytest.mark.parametrize('k,params', [(16, 28_482_832), (17, 28_483_185)])
def test_hrnet_discriminator_has_the_reference_size(k, params):
    d = HRNetDiscriminator(num_keypoints=k)
    assert sum(p.numel() for p in d.parameters()) == params
    # no stem: the first layer reads the K+3 channels at full resolution
    first = d.body.layer1[0]
    assert first.conv1.in_channels == k + 3 and first.conv1.stride == (1, 1)
    assert first.downsample[0].in_channels == k + 3


def test_hrnet_discriminator_reconstructs_at_heatmap_resolution():
    cfg = Config.fromfile(osp.join(CONFIGS, 'quickstart', 'hrgan_synthetic-coco_128x96_hrnet-d.py'))
    d = MODELS.build(dict(cfg.model.discriminator, num_keypoints=17)).eval()
    with torch.no_grad():
        out = d(torch.rand(2, 17, 32, 24), torch.rand(2, 3, 128, 96))
    assert out.shape == (2, 17, 32, 24)
    with pytest.raises(ValueError, match='heatmap size 30x24 is not divisible by 8'):
        d(torch.rand(1, 17, 30, 24), torch.rand(1, 3, 128, 96))
    with pytest.raises(ValueError, match='expects 17 heatmap channels, got 16'):
        d(torch.rand(1, 16, 32, 24), torch.rand(1, 3, 128, 96))


def test_classifier_discriminator_gives_one_logit_per_sample_or_joint():
    body = dict(type='PoseDiscriminator', feat_channels=8, depth=2)
    heatmaps, image = torch.rand(3, K, 16, 16), torch.rand(3, 3, 64, 64)
    conventional = ClassifierDiscriminator(K, body=body).eval()
    channel_wise = ClassifierDiscriminator(K, body=body, channel_wise=True).eval()
    with torch.no_grad():
        assert conventional(heatmaps, image).shape == (3, 1)
        logits = channel_wise(heatmaps, image)
        # scale 1 and shift 0 at init: the logit of joint j is the mean of D's map j
        expected = channel_wise.body(heatmaps, image).mean(dim=(2, 3))
    assert logits.shape == (3, K)
    torch.testing.assert_close(logits, expected)


def test_non_saturating_gan_loss_hand_values():
    loss = MODELS.build(dict(type='NonSaturatingGANLoss'))
    real, fake = torch.tensor([[2.0], [0.0]]), torch.tensor([[-1.0], [0.0]])
    out = loss.discriminator_losses(real, None, fake, None, k_t=0.7)
    # softplus(-2) = 0.126928, softplus(0) = log 2, softplus(-1) = 0.313262
    assert out['loss_real'].item() == pytest.approx((0.126928 + math.log(2)) / 2, abs=1e-6)
    assert out['loss_fake'].item() == pytest.approx((0.313262 + math.log(2)) / 2, abs=1e-6)
    assert out['loss_d'].item() == pytest.approx(
        out['loss_real'].item() + out['loss_fake'].item())  # k_t plays no part
    # the generator wants fake called real: softplus(1) = 1.313262
    assert loss.adversarial_loss(fake, None, None).item() == pytest.approx(
        (1.313262 + math.log(2)) / 2, abs=1e-6)


# -------------------------------------------------------------- train_step
def test_hrnet_discriminator_starts_from_pytorch_default_init():
    """As the reference (no init_weights): the runner's init_weights leaves
    every convolution as PyTorch drew it, not HRNet's N(0, 0.001^2)."""
    d = HRNetDiscriminator(num_keypoints=4, extra=dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                    num_channels=(8, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(8, 16, 32, 64))))
    before = {n: p.detach().clone() for n, p in d.named_parameters()}
    d.init_weights()
    assert all(torch.equal(before[n], p) for n, p in d.named_parameters())
    # PyTorch's default (Kaiming uniform, a=sqrt(5)): std = 1 / sqrt(3 * fan_in)
    w = d.body.layer1[0].conv2.weight
    assert w.std().item() == pytest.approx(1 / math.sqrt(3 * w[0].numel()), rel=0.2)


def test_adversarial_gradient_ratio_under_a_loss_scale():
    """AMP: both losses are scaled before the backward (no fp16 underflow);
    the ratio is the same."""
    model = tiny_hrgan()
    params = model._generator_parameters()
    loss_kpt = sum(p.sum() for p in params)
    loss_adv = sum(p.pow(2).sum() for p in params) / 2
    scaler = type('Scaler', (), {'scale': staticmethod(lambda loss: loss * 1024.0)})()
    assert model.adversarial_gradient_ratio(loss_kpt, loss_adv, scaler).item() == pytest.approx(
        model.adversarial_gradient_ratio(loss_kpt, loss_adv).item(), rel=1e-5)


def test_discriminator_sees_real_and_fake_in_separate_passes():
    model = tiny_hrgan()
    calls = []
    model.discriminator.register_forward_hook(
        lambda m, args, out: calls.append((args[0].detach().clone(), m.training)))
    batch = tiny_gan_batch(n=3)
    model.train_step(batch, gan_optim(model, g_lr=0.0, d_lr=0.0))
    gt = torch.stack([s.gt_fields.heatmaps for s in batch['data_samples']])
    # D step: real, then fake, each a batch of 3 in train mode (own BN statistics);
    # G step: a fresh pass over the fake batch
    assert [c[0].shape[0] for c in calls] == [3, 3, 3]
    assert all(training for _, training in calls)
    torch.testing.assert_close(calls[0][0], gt)
    assert not torch.equal(calls[1][0], gt)
    torch.testing.assert_close(calls[1][0], calls[2][0])


def test_discriminator_batch_norm_normalises_each_kind_alone():
    """With real and fake in one batch, BN's statistics would mix them: the
    first BN's running mean after one step equals the average of the two
    separate batches' means (momentum 0.1 applied twice from 0)."""
    model = tiny_hrgan()
    bn = model.discriminator.stem.bn
    seen = []
    bn.register_forward_hook(lambda m, args, out: seen.append(args[0].mean(dim=(0, 2, 3))))
    model.train_step(tiny_gan_batch(n=2), gan_optim(model, g_lr=0.0, d_lr=0.0))
    real_mean, fake_mean = seen[0], seen[1]
    # the D step's two passes update the running mean twice, the G step's (no
    # grad to D's weights, still train mode) a third time
    expected = torch.zeros_like(real_mean)
    for m in (real_mean, fake_mean, seen[2]):
        expected = 0.9 * expected + 0.1 * m
    torch.testing.assert_close(bn.running_mean, expected, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(real_mean, fake_mean)


def test_sum_reduction_with_a_mean_heatmap_loss_is_refused():
    cfg = tiny_hrgan_cfg()
    cfg['adversarial_loss'] = dict(type='BEGANLoss', reduction='sum')
    with pytest.raises(ValueError, match=r"reduction='sum' sums L_adv over K\*H\*W elements "
                                         r"while the head's heatmap loss \(KeypointMSELoss\)"):
        MODELS.build(cfg)


def test_adversarial_gradient_ratio_on_known_losses():
    """L_MSE = sum(theta) has gradient 1 everywhere (norm sqrt(n)); L_adv =
    sum(theta^2)/2 has gradient theta (norm ||theta||): ratio ||theta||/sqrt(n)."""
    model = tiny_hrgan()
    params = model._generator_parameters()
    loss_kpt = sum(p.sum() for p in params)
    loss_adv = sum(p.pow(2).sum() for p in params) / 2
    n = sum(p.numel() for p in params)
    theta_norm = math.sqrt(sum(p.detach().pow(2).sum().item() for p in params))
    ratio = model.adversarial_gradient_ratio(loss_kpt, loss_adv)
    assert ratio.item() == pytest.approx(theta_norm / math.sqrt(n), rel=1e-5)
    # the discriminator's parameters are not part of it
    assert not any(p is q for p in params for q in model.discriminator.parameters())
    # scaling the adversarial term by lambda scales the ratio by lambda
    assert model.adversarial_gradient_ratio(loss_kpt, 1e-3 * loss_adv).item() == pytest.approx(
        1e-3 * theta_norm / math.sqrt(n), rel=1e-5)


def test_adversarial_gradient_ratio_is_logged_every_interval():
    hub = MessageHub.get_current_instance()
    cfg = tiny_hrgan_cfg(lambda_g=0.5)
    cfg['adv_grad_interval'] = 2
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    optim = gan_optim(model, g_lr=0.0, d_lr=0.0)
    logged = []
    for it in range(4):
        hub.update_info('iter', it)
        logged.append('adv_grad_ratio' in model.train_step(tiny_gan_batch(), optim))
    assert logged == [True, False, True, False]
    cfg['adv_grad_interval'] = 0
    model = MODELS.build(cfg)
    hub.update_info('iter', 0)
    assert 'adv_grad_ratio' not in model.train_step(tiny_gan_batch(), gan_optim(model, 0.0, 0.0))
    hub.update_info('iter', 0)


def test_conventional_gan_step_trains_without_k_t():
    cfg = tiny_hrgan_cfg()
    cfg['discriminator'] = dict(type='ClassifierDiscriminator', body=dict(
        type='PoseDiscriminator', feat_channels=8, depth=2), channel_wise=True)
    cfg['adversarial_loss'] = dict(type='NonSaturatingGANLoss')
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    out = model.train_step(tiny_gan_batch(), gan_optim(model, g_lr=0.01, d_lr=0.01))
    assert out['loss_d'].item() == pytest.approx(out['loss_real'].item() + out['loss_fake'].item())
    assert out['loss_g'].item() == pytest.approx(out['loss_kpt'].item() + out['loss_adv'].item())
    assert model.k_t.item() == 0.0


# ----------------------------------------------------------------- configs
def _cfg(name):
    return Config.fromfile(osp.join(CONFIGS, name))


@pytest.mark.parametrize('data', ['coco_256x192', 'mpii_256x256'])
def test_headline_configs_follow_the_reference(data):
    hrgan, hrnet = _cfg(f'hrgan_w32_{data}.py'), _cfg(f'hrnet_w32_{data}.py')
    small = _cfg(f'hrgan_w32_{data}_small-d.py')
    assert hrgan.model.discriminator == dict(type='HRNetDiscriminator')
    assert small.model.discriminator == dict(type='PoseDiscriminator', feat_channels=32, depth=4)
    # the reference's lambda_G = 1e-4 on 0.5 * MSE is 2e-4 on mmpose's MSE
    assert hrgan.model.lambda_g == 2e-4
    assert hrgan.model.adversarial_loss.reduction == 'mean'
    # one generator recipe for HRGAN and the HRNet it is compared with
    assert hrgan.optim_wrapper.generator == hrnet.optim_wrapper
    assert hrnet.optim_wrapper.optimizer == dict(type='RMSprop', lr=2.5e-4, alpha=0.99)
    assert hrgan.optim_wrapper.discriminator.optimizer == dict(type='Adam', lr=8e-5)
    for key in ('train_cfg', 'param_scheduler', 'auto_scale_lr', 'train_pipeline'):
        assert hrgan[key] == hrnet[key], key
    assert hrgan.train_dataloader.batch_size == hrnet.train_dataloader.batch_size
    assert hrnet.param_scheduler == []
    epochs, batch, total = (130, 16, 64) if data.startswith('coco') else (90, 8, 8)
    assert hrnet.train_cfg.max_epochs == epochs
    assert hrnet.train_dataloader.batch_size == batch
    assert hrnet.auto_scale_lr.base_batch_size == total
    [eq] = [h for h in hrgan.custom_hooks if h['type'] == 'BoundaryEquilibriumHook']
    assert (eq['gamma'], eq['lambda_k']) == (0.5, 1e-3)


@pytest.mark.parametrize('name,channel_wise', [('conventional-gan', False),
                                               ('channel-wise-gan', True)])
def test_gan_ablation_configs(name, channel_wise):
    cfg = _cfg(f'hrgan_w32_mpii_256x256_{name}.py')
    assert cfg.model.adversarial_loss == dict(type='NonSaturatingGANLoss')
    assert cfg.model.discriminator == dict(type='ClassifierDiscriminator',
                                           body=dict(type='HRNetDiscriminator'),
                                           channel_wise=channel_wise)
    types = [h['type'] for h in cfg.custom_hooks]
    assert 'BoundaryEquilibriumHook' not in types and 'DivergenceGuardHook' in types
    curves = [h for h in cfg.custom_hooks if h['type'] == 'TrainingCurveHook']
    assert [h.get('out_file', 'loss_curve.png') for h in curves] == ['loss_curve.png', 'gan.png']


@pytest.mark.slow  # the GAN step: test_conventional_gan_step_trains_without_k_t
@pytest.mark.parametrize('name', ['conventional-gan', 'channel-wise-gan'])
def test_gan_ablations_train_at_quickstart_scale(name, synthetic_root, tmp_path):
    config = osp.join(CONFIGS, 'quickstart', f'hrgan_synthetic-coco_128x96_{name}.py')
    proc = run_tool('tools/train.py', config, '--work-dir', str(tmp_path), '--cfg-options',
                    *synthetic_options(synthetic_root), 'model.adv_grad_interval=1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    train = [r for r in scalar_records(str(tmp_path)) if 'loss_d' in r]
    assert train and all(math.isfinite(r['loss_d']) and r['adv_grad_ratio'] > 0 for r in train)
    assert 'k_t' not in train[0]
    assert osp.isfile(osp.join(tmp_path, 'gan.png'))
