"""HRGAN pieces with hand-computed values: BEGAN loss terms, the k_t update,
the discriminator, the optimiser split and the alternating train_step."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmpose.structures import PoseDataSample
from utils import REPO

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
K = 4


def _model(lambda_g=1.0, loss_weight=1.0, warmup_iters=0):
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(lambda_g, loss_weight, warmup_iters))
    model.init_weights()
    return model


def _model_cfg(lambda_g=1.0, loss_weight=1.0, warmup_iters=0):
    return dict(
        type='AdversarialTopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[128.] * 3, std=[64.] * 3),
        backbone=dict(
            type='HRNet', in_channels=3,
            extra=dict(
                stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                            num_blocks=(1, ), num_channels=(16, )),
                stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                            num_channels=(8, 16)),
                stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                            num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
                stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                            num_blocks=(1, 1, 1, 1), num_channels=(8, 16, 32, 64)))),
        head=dict(type='HeatmapHead', in_channels=8, out_channels=K, deconv_out_channels=None,
                  loss=dict(type='KeypointMSELoss', use_target_weight=True,
                            loss_weight=loss_weight),
                  decoder=dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
                               sigma=2)),
        discriminator=dict(type='PoseDiscriminator', num_keypoints=K, feat_channels=8, depth=2),
        adversarial_loss=dict(type='BEGANLoss'),
        lambda_g=lambda_g, warmup_iters=warmup_iters)


def _batch(n=2):
    g = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(n):
        s = PoseDataSample()
        s.gt_fields = PixelData(heatmaps=torch.rand(K, 16, 16, generator=g))
        s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, K))
        s.set_metainfo(dict(input_size=(64, 64)))
        samples.append(s)
    inputs = [torch.randint(0, 255, (3, 64, 64), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def _optim(model, g_lr, d_lr):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='GANOptimWrapperConstructor',
        optim_wrapper_cfg=dict(
            generator=dict(optimizer=dict(type='SGD', lr=g_lr)),
            discriminator=dict(optimizer=dict(type='SGD', lr=d_lr)))))
    return constructor(model)


def _params(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def _changed(before, module):
    return [n for n, p in module.named_parameters() if not torch.equal(before[n], p)]


def _generator_params(model):
    return {n: p for n, p in _params(model).items() if not n.startswith('discriminator.')}


def test_amp_switch_reaches_both_optimisers(monkeypatch):
    """What mmpose's ``tools/train.py --amp`` writes at the top level of
    ``optim_wrapper`` applies to both networks, over the entries' own type."""
    from mmengine.optim import AmpOptimWrapper
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)  # CPU here
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='GANOptimWrapperConstructor',
        optim_wrapper_cfg=dict(
            generator=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
            discriminator=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.2)),
            type='AmpOptimWrapper', loss_scale='dynamic', clip_grad=dict(max_norm=1.0))))
    optim = constructor(_model())
    for key, lr in (('generator', 0.1), ('discriminator', 0.2)):
        assert type(optim[key]) is AmpOptimWrapper
        assert optim[key].loss_scaler is not None and optim[key].clip_grad_kwargs == dict(
            max_norm=1.0)
        assert optim[key].optimizer.param_groups[0]['lr'] == lr
    with pytest.raises(ValueError, match=r"missing \['discriminator'\], unexpected \[\]"):
        OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='GANOptimWrapperConstructor',
            optim_wrapper_cfg=dict(generator=dict(optimizer=dict(type='SGD', lr=0.1)))))
    # an optimizer inherited from a single-network base would override both lrs
    with pytest.raises(ValueError, match=r"unexpected \['optimizer'\]"):
        OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='GANOptimWrapperConstructor',
            optim_wrapper_cfg=dict(generator=dict(optimizer=dict(type='SGD', lr=0.1)),
                                   discriminator=dict(optimizer=dict(type='SGD', lr=0.2)),
                                   optimizer=dict(type='Adam', lr=5e-4))))


def test_optimiser_split_covers_every_parameter_once():
    model = _model()
    optim = _optim(model, 0.1, 0.1)
    ids = [{id(p) for grp in optim[k].optimizer.param_groups for p in grp['params']}
           for k in ('generator', 'discriminator')]
    assert not ids[0] & ids[1]
    assert ids[1] == {id(p) for p in model.discriminator.parameters()}
    assert ids[0] | ids[1] == {id(p) for p in model.parameters()}
    with pytest.raises(ValueError, match='missing'):
        OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='GANOptimWrapperConstructor',
            optim_wrapper_cfg=dict(generator=dict(optimizer=dict(type='SGD', lr=0.1)))))


def test_generator_step_leaves_discriminator_alone():
    model = _model()
    d_before, g_before = _params(model.discriminator), _generator_params(model)
    out = model.train_step(_batch(), _optim(model, g_lr=0.1, d_lr=0.0))
    assert not _changed(d_before, model.discriminator)
    assert any(not torch.equal(v, dict(model.named_parameters())[n])
               for n, v in g_before.items())
    assert {'loss_real', 'loss_fake', 'loss_d', 'loss_adv', 'loss_kpt', 'loss_g',
            'acc_pose'} <= set(out)
    assert out['loss_g'].item() == pytest.approx(
        out['loss_kpt'].item() + model.lambda_g * out['loss_adv'].item())


def test_discriminator_step_leaves_generator_alone():
    model = _model()
    d_before, g_before = _params(model.discriminator), _generator_params(model)
    out = model.train_step(_batch(), _optim(model, g_lr=0.0, d_lr=0.1))
    params = dict(model.named_parameters())
    assert all(torch.equal(v, params[n]) for n, v in g_before.items())
    assert _changed(d_before, model.discriminator)
    # k_0 = 0: L_D = L_real
    assert out['loss_d'].item() == pytest.approx(out['loss_real'].item())


def test_adversarial_gradient_reaches_the_generator():
    """With the heatmap MSE weighted 0, only L_adv can move the generator."""
    for lambda_g, moves in ((1.0, True), (0.0, False)):
        model = _model(lambda_g=lambda_g, loss_weight=0.0)
        g_before = _generator_params(model)
        model.train_step(_batch(), _optim(model, g_lr=1.0, d_lr=0.0))
        params = dict(model.named_parameters())
        changed = [n for n, v in g_before.items() if not torch.equal(v, params[n])]
        assert bool(changed) is moves, (lambda_g, changed[:3])


def test_warmup_trains_mse_only():
    hub = MessageHub.get_current_instance()
    model = _model(warmup_iters=3)
    d_before = _params(model.discriminator)
    hub.update_info('iter', 2)
    out = model.train_step(_batch(), _optim(model, g_lr=0.1, d_lr=0.1))
    assert 'loss_real' not in out and 'loss_adv' not in out
    assert out['loss_g'].item() == pytest.approx(out['loss_kpt'].item())
    assert not _changed(d_before, model.discriminator)
    hub.update_info('iter', 3)
    out = model.train_step(_batch(), _optim(model, g_lr=0.1, d_lr=0.1))
    assert 'loss_real' in out and _changed(d_before, model.discriminator)
    hub.update_info('iter', 0)


def test_predict_uses_the_generator_only():
    model = _model().eval()
    batch = model.data_preprocessor(_batch(), False)
    for s in batch['data_samples']:
        s.set_metainfo(dict(input_center=np.array([32., 32.]),
                            input_scale=np.array([64., 64.]), flip_indices=list(range(K))))
        s.gt_instances = InstanceData(bboxes=np.array([[0., 0., 64., 64.]]),
                                      bbox_scores=np.ones(1))
    copy_model = copy.deepcopy(model)
    del copy_model.discriminator  # prediction must not need D
    with torch.no_grad():
        results = copy_model.predict(batch['inputs'], batch['data_samples'])
    assert results[0].pred_instances.keypoints.shape == (1, K, 2)


def test_generator_starts_as_the_baseline_with_the_same_seed():
    """D's construction does not consume the generator's random stream, so
    HRGAN and the baseline start from identical generator weights."""
    hrgan = _model()  # seeds 0, builds, init_weights
    cfg = dict(type='TopdownPoseEstimator')
    cfg.update({k: v for k, v in _model_cfg().items()
                if k in ('data_preprocessor', 'backbone', 'head')})
    torch.manual_seed(0)
    base = MODELS.build(cfg)
    base.init_weights()
    base_state = base.state_dict()
    for key, value in hrgan.state_dict().items():
        if key.startswith(('backbone.', 'head.')):
            torch.testing.assert_close(value, base_state[key], rtol=0, atol=0, msg=key)


def test_channels_last_hook_runs_the_networks_in_nhwc():
    model = _model()
    batch = model.data_preprocessor(_batch(2), True)
    inputs, samples = batch['inputs'], batch['data_samples']
    gt = torch.stack([d.gt_fields.heatmaps for d in samples])
    before = model.head(model.extract_feat(inputs))

    class _Runner:
        pass
    runner = _Runner()
    runner.model = model
    HOOKS.build(dict(type='ChannelsLastHook')).before_train(runner)  # cuda only: CPU untouched
    assert not model.backbone._forward_pre_hooks
    hook = HOOKS.build(dict(type='ChannelsLastHook', devices=('cpu', )))
    hook.before_train(runner)
    seen = {}
    for name in ('conv1', 'conv2'):
        getattr(model.backbone, name).register_forward_hook(
            lambda m, a, out, name=name: seen.update({name: (a[0], out)}))
    disc_in = []
    model.discriminator.stem.register_forward_pre_hook(lambda m, a: disc_in.append(a[0]))
    after = model.head(model.extract_feat(inputs))
    nhwc = dict(memory_format=torch.channels_last)
    assert seen['conv1'][0].is_contiguous(**nhwc)  # the batch, converted on entry
    assert seen['conv2'][1].is_contiguous(**nhwc)  # activations stay NHWC downstream
    assert not inputs.is_contiguous(**nhwc)  # the caller's tensor is left alone
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-6)
    model.discriminator(gt, inputs)
    assert disc_in[0].is_contiguous(**nhwc)
    ((after - gt) ** 2).mean().backward()
    assert model.backbone.conv1.weight.is_contiguous()  # weights keep NCHW (DDP's buckets)
    assert model.backbone.conv1.weight.grad is not None
    hook.before_val(runner)  # applied once
    assert len(model.backbone._forward_pre_hooks) == 1


def test_discriminator_keypoints_come_from_the_head_or_must_match_it():
    cfg = Config.fromfile(f'{REPO}/configs/quickstart/hrgan_synthetic-coco_128x96.py')
    assert 'num_keypoints' not in cfg.model.discriminator
    model = MODELS.build(cfg.model)
    assert model.discriminator.num_keypoints == model.head.out_channels == 17
    cfg.model.discriminator.num_keypoints = 16
    with pytest.raises(ValueError, match=r'model.discriminator.num_keypoints=16 does not match '
                                         r'model.head.out_channels=17'):
        MODELS.build(cfg.model)
