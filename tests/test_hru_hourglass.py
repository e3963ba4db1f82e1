"""HRUHourglassNet: shapes, unit structure and placement, upsampling, the HRU report's
parameter counts."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmpose.registry import MODELS
from utils import REPO

from hrgan_plugin.models.backbones.hru import HourglassResidualUnit, PreActResidual, make_upsample
from hrgan_plugin.models.backbones.hru_hourglass import HRUHourglassModule

VARIANTS = {
    'res': dict(unit='residual', upsample='nearest'),
    'hru': dict(unit='hru', upsample='nearest'),
    'hru-deconv': dict(unit='hru', upsample='deconv'),
}


def _net(num_stacks, variant, **kwargs):
    cfg = dict(type='HRUHourglassNet', num_keypoints=5, num_stacks=num_stacks,
               **VARIANTS[variant])
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _hourglass_units(net):
    for hg in net.hourglasses:
        for m in hg.modules():
            if isinstance(m, HRUHourglassModule):
                yield 'skip', m.up1
                yield 'body', m.low1
                yield 'body', m.low3
                if not isinstance(m.low2, HRUHourglassModule):
                    yield 'body', m.low2


@pytest.mark.parametrize('num_stacks', [1, 2, 8])
@pytest.mark.parametrize('variant', list(VARIANTS))
def test_one_heatmap_output_per_stack(num_stacks, variant):
    net = _net(num_stacks, variant, feat_channels=16).eval()
    with torch.no_grad():
        outs = net(torch.rand(2, 3, 64, 64))
    assert len(outs) == num_stacks
    assert all(o.shape == (2, 5, 16, 16) for o in outs)


def test_transposed_convolutions_replace_only_the_hourglass_upsamplings():
    net = _net(2, 'hru-deconv', feat_channels=16)
    for hg in net.hourglasses:
        levels = [m for m in hg.modules() if isinstance(m, HRUHourglassModule)]
        assert len(levels) == 4
        assert all(isinstance(m.up2, nn.ConvTranspose2d) for m in levels)
        assert sum(isinstance(m, nn.ConvTranspose2d) for m in hg.modules()) == 4
    # every HRU pool branch keeps nearest upsampling
    hrus = [m for m in net.modules() if isinstance(m, HourglassResidualUnit)]
    assert hrus and all(isinstance(u.pool_branch[-1], nn.Upsample)
                        and u.pool_branch[-1].mode == 'nearest' for u in hrus)
    near = _net(2, 'hru', feat_channels=16)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in near.modules())


def test_seed_placement_puts_half_width_hrus_in_every_unit_and_full_ones_in_the_stem():
    net = _net(2, 'hru', feat_channels=16)
    units = list(_hourglass_units(net)) + [('post', p[0]) for p in net.post]
    assert len(units) == 2 * 14
    assert all(isinstance(u, HourglassResidualUnit) for _, u in units)
    # pool branch C -> C/2 -> C
    assert all(u.pool_branch[3].out_channels == 8 and u.pool_branch[4].conv.out_channels == 16
               for _, u in units)
    stem = [m for m in net.stem if isinstance(m, PreActResidual)]
    assert [type(m) for m in stem] == [HourglassResidualUnit] * 3
    assert [m.pool_branch[3].out_channels for m in stem] == [128, 128, 16]
    res = list(_hourglass_units(_net(2, 'res', feat_channels=16)))
    assert all(type(u) is PreActResidual for _, u in res)


def test_chu_placement_chains_hrus_on_the_skip_branches_only():
    net = _net(1, 'hru', feat_channels=16, hru_placement='chu')
    levels = [m for m in net.hourglasses[0].modules() if isinstance(m, HRUHourglassModule)]
    chains = [[type(u).__name__ for u in (m.up1 if isinstance(m.up1, nn.Sequential)
                                            else [m.up1])] for m in levels]
    # level 4 (outermost) .. level 1: [residual, HRU x (n - 2)], a residual at level 1
    assert chains == [['PreActResidual', 'HourglassResidualUnit', 'HourglassResidualUnit'],
                      ['PreActResidual', 'HourglassResidualUnit'],
                      ['PreActResidual'], ['PreActResidual']]
    assert all(type(u) is PreActResidual for kind, u in _hourglass_units(net) if kind == 'body')
    assert sum(isinstance(m, HourglassResidualUnit) for m in net.modules()) == 3
    full = [m for m in net.modules() if isinstance(m, HourglassResidualUnit)][0]
    assert full.pool_branch[3].out_channels == 16


def test_hru_is_the_sum_of_its_three_branches():
    unit = HourglassResidualUnit(8, 8, pool_channels=4).eval()
    x = torch.rand(1, 8, 12, 12)
    with torch.no_grad():
        expected = unit.bottleneck(x) + unit.skip(x) + unit.pool_branch(x)
        torch.testing.assert_close(unit(x), expected)
    assert isinstance(unit.pool_branch[2], nn.MaxPool2d)
    assert isinstance(unit.pool_branch[-1], nn.Upsample)
    # pool branch: BN(8) + conv3x3 8->4 with bias + BN(4) + conv3x3 4->8 without bias
    branch = sum(p.numel() for p in unit.pool_branch.parameters())
    assert branch == 16 + (9 * 8 * 4 + 4) + 8 + 9 * 4 * 8


@pytest.mark.parametrize('kernel', [2, 3, 4, 5])
def test_transposed_convolution_doubles_exactly(kernel):
    up = make_upsample(4, 'deconv', kernel)
    assert up(torch.rand(1, 4, 7, 5)).shape == (1, 4, 14, 10)


# the HRU report's saved model sizes / 8 (fp32 weights + RMSprop state), in millions
SEED_SIZES = {('hru', 1): 13.03, ('hru', 2): 24.46, ('hru', 8): 93.07,
              ('hru-deconv', 1): 15.39, ('hru-deconv', 2): 29.19, ('hru-deconv', 8): 111.99,
              ('res', 1): 3.605, ('res', 2): 6.764, ('res', 8): 25.72}


@pytest.mark.parametrize('num_stacks', [1, 2, 8])
@pytest.mark.parametrize('name', ['res', 'hru', 'hru-deconv'])
def test_shipped_configs_match_the_seed_model_sizes(name, num_stacks):
    """The six HRU configs within 5% of the HRU report's sizes (the residual ones
    within 6%: the HRU report's files also hold BatchNorm buffers and pickle
    overhead, 5.2% of the 1-stack model); exactly 4 transposed convolutions
    per hourglass in the hru-deconv ones."""
    cfg = Config.fromfile(f'{REPO}/configs/hg{num_stacks}_{name}_mpii_256x256.py')
    net = MODELS.build(cfg.model.backbone)
    count = sum(p.numel() for p in net.parameters()) / 1e6
    assert count == pytest.approx(SEED_SIZES[name, num_stacks], rel=0.06 if name == 'res' else 0.05)
    deconvs = sum(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    assert deconvs == (4 * num_stacks if name == 'hru-deconv' else 0)


def test_hru_and_deconv_increments_per_stack():
    """HRUs add 14 x 589,824 conv weights + 14 x 128 biases + 14 x 2 BN per stack
    over the residual model (plus the stem, paid once); deconvolution adds
    4 x 256 x 256 x 9 per stack."""
    counts = {(v, s): sum(p.numel() for p in _net(s, v, num_keypoints=16).parameters())
              for v in ('res', 'hru', 'hru-deconv') for s in (1, 2)}
    per_stack_hru = (counts['hru', 2] - counts['hru', 1]) - (counts['res', 2] - counts['res', 1])
    assert per_stack_hru == 14 * (2 * 256 + 9 * 256 * 128 + 128 + 2 * 128 + 9 * 128 * 256)
    assert counts['hru-deconv', 2] - counts['hru', 2] == 2 * 4 * 9 * 256 * 256


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='unit'):
        _net(1, 'res', unit='dense')
    with pytest.raises(ValueError, match='upsample'):
        _net(1, 'res', upsample='bilinear')
    with pytest.raises(ValueError, match="hru_placement must be 'seed' or 'chu'"):
        _net(1, 'hru', hru_placement='all')


@pytest.mark.parametrize('name', [f'hg{s}_{v}_mpii_256x256.py' for s in (1, 2, 8)
                                  for v in ('res', 'hru', 'hru-deconv')])
def test_nine_configs_follow_the_seed_protocol(name):
    cfg = Config.fromfile(f'{REPO}/configs/{name}')
    assert cfg.train_cfg.max_epochs == 15
    assert cfg.optim_wrapper.optimizer == dict(type='RMSprop', lr=2.5e-4)
    assert cfg.param_scheduler == []  # constant rate, no warm-up
    assert cfg.train_dataloader.batch_size == 8
    bbox = next(t for t in cfg.train_dataloader.dataset.pipeline
                if t.type == 'RandomBBoxTransform')
    assert (bbox.rotate_factor, tuple(bbox.scale_factor)) == (30, (0.75, 1.25))
    codec = cfg.model.head.decoder
    assert (codec.sigma, tuple(codec.heatmap_size)) == (1, (64, 64))


@pytest.mark.parametrize('name', ['hg8_asr-aho_mpii_256x256.py',
                                  'hrgan_hg8_hru-deconv_mpii_256x256.py'])
def test_other_hourglass_configs_keep_their_schedule(name):
    cfg = Config.fromfile(f'{REPO}/configs/{name}')
    assert cfg.train_cfg.max_epochs == 210
    assert cfg.train_dataloader.batch_size == 64
    assert (cfg.model.backbone.unit, cfg.model.backbone.upsample) == ('hru', 'deconv')
