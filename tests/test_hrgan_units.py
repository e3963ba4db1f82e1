"""The HRGAN model with hand-computed values: the optimiser split, the
alternating train_step, warm-up, prediction and the discriminator's
keypoints (the BEGAN pieces are in test_began_units.py)."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from mmpose.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from utils import GAN_K as K
from utils import REPO, gan_optim, tiny_gan_batch, tiny_hrgan, tiny_hrgan_cfg

import hrgan_plugin  # noqa: F401


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
    optim = constructor(tiny_hrgan())
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
    model = tiny_hrgan()
    optim = gan_optim(model, 0.1, 0.1)
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
    model = tiny_hrgan()
    d_before, g_before = _params(model.discriminator), _generator_params(model)
    out = model.train_step(tiny_gan_batch(), gan_optim(model, g_lr=0.1, d_lr=0.0))
    assert not _changed(d_before, model.discriminator)
    assert any(not torch.equal(v, dict(model.named_parameters())[n])
               for n, v in g_before.items())
    assert {'loss_real', 'loss_fake', 'loss_d', 'loss_adv', 'loss_kpt', 'loss_g',
            'acc_pose'} <= set(out)
    assert out['loss_g'].item() == pytest.approx(
        out['loss_kpt'].item() + model.lambda_g * out['loss_adv'].item())


def test_discriminator_step_leaves_generator_alone():
    model = tiny_hrgan()
    d_before, g_before = _params(model.discriminator), _generator_params(model)
    out = model.train_step(tiny_gan_batch(), gan_optim(model, g_lr=0.0, d_lr=0.1))
    params = dict(model.named_parameters())
    assert all(torch.equal(v, params[n]) for n, v in g_before.items())
    assert _changed(d_before, model.discriminator)
    # k_0 = 0: L_D = L_real
    assert out['loss_d'].item() == pytest.approx(out['loss_real'].item())


def test_adversarial_gradient_reaches_the_generator():
    """With the heatmap MSE weighted 0, only L_adv can move the generator."""
    for lambda_g, moves in ((1.0, True), (0.0, False)):
        model = tiny_hrgan(lambda_g=lambda_g, loss_weight=0.0)
        g_before = _generator_params(model)
        model.train_step(tiny_gan_batch(), gan_optim(model, g_lr=1.0, d_lr=0.0))
        params = dict(model.named_parameters())
        changed = [n for n, v in g_before.items() if not torch.equal(v, params[n])]
        assert bool(changed) is moves, (lambda_g, changed[:3])


def test_warmup_trains_mse_only():
    hub = MessageHub.get_current_instance()
    model = tiny_hrgan(warmup_iters=3)
    d_before = _params(model.discriminator)
    hub.update_info('iter', 2)
    out = model.train_step(tiny_gan_batch(), gan_optim(model, g_lr=0.1, d_lr=0.1))
    assert 'loss_real' not in out and 'loss_adv' not in out
    assert out['loss_g'].item() == pytest.approx(out['loss_kpt'].item())
    assert not _changed(d_before, model.discriminator)
    hub.update_info('iter', 3)
    out = model.train_step(tiny_gan_batch(), gan_optim(model, g_lr=0.1, d_lr=0.1))
    assert 'loss_real' in out and _changed(d_before, model.discriminator)
    hub.update_info('iter', 0)


def test_predict_uses_the_generator_only():
    model = tiny_hrgan().eval()
    batch = model.data_preprocessor(tiny_gan_batch(), False)
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
    hrgan = tiny_hrgan()  # seeds 0, builds, init_weights
    cfg = dict(type='TopdownPoseEstimator')
    cfg.update({k: v for k, v in tiny_hrgan_cfg().items()
                if k in ('data_preprocessor', 'backbone', 'head')})
    torch.manual_seed(0)
    base = MODELS.build(cfg)
    base.init_weights()
    base_state = base.state_dict()
    for key, value in hrgan.state_dict().items():
        if key.startswith(('backbone.', 'head.')):
            torch.testing.assert_close(value, base_state[key], rtol=0, atol=0, msg=key)


def test_channels_last_hook_runs_the_networks_in_nhwc():
    model = tiny_hrgan()
    batch = model.data_preprocessor(tiny_gan_batch(2), True)
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
