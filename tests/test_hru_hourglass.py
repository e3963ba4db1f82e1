"""HRUHourglassNet: shapes, unit structure, upsampling, parameter ordering."""
import pytest
import torch
import torch.nn as nn
from mmpose.registry import MODELS

from hrgan_plugin.models.backbones.hru import HourglassResidualUnit, PreActResidual, make_upsample
from hrgan_plugin.models.backbones.hru_hourglass import HRUHourglassModule

VARIANTS = {
    'res': dict(unit='residual', upsample='nearest'),
    'hru': dict(unit='hru', upsample='nearest'),
    'hru-deconv': dict(unit='hru', upsample='deconv', deconv_kernel=3),
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


def test_deconv_variant_upsamples_by_transposed_convolution_only():
    net = _net(2, 'hru-deconv', feat_channels=16)
    mods = list(net.hourglasses.modules())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in mods)
    assert not any(isinstance(m, nn.Upsample) for m in mods)
    near = _net(2, 'hru', feat_channels=16)
    mods = list(near.hourglasses.modules())
    assert any(isinstance(m, nn.Upsample) and m.mode == 'nearest' for m in mods)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in mods)


def test_hru_everywhere_or_in_skip_branches_only():
    units = list(_hourglass_units(_net(2, 'hru', feat_channels=16)))
    assert units and all(isinstance(u, HourglassResidualUnit) for _, u in units)
    assert all(hasattr(u, 'pool_branch') and hasattr(u, 'bottleneck') and hasattr(u, 'skip')
               for _, u in units)
    skip_only = list(_hourglass_units(_net(2, 'hru', feat_channels=16, hru_placement='skip')))
    assert all(isinstance(u, HourglassResidualUnit) == (kind == 'skip')
               for kind, u in skip_only)
    res = list(_hourglass_units(_net(2, 'res', feat_channels=16)))
    assert all(type(u) is PreActResidual for _, u in res)


def test_hru_is_the_sum_of_its_three_branches():
    unit = HourglassResidualUnit(8, 8, upsample='deconv').eval()
    x = torch.rand(1, 8, 12, 12)
    with torch.no_grad():
        expected = unit.bottleneck(x) + unit.skip(x) + unit.pool_branch(x)
        torch.testing.assert_close(unit(x), expected)
    assert isinstance(unit.pool_branch[2], nn.MaxPool2d)
    assert isinstance(unit.pool_branch[-1], nn.ConvTranspose2d)


@pytest.mark.parametrize('kernel', [2, 3, 4, 5])
def test_transposed_convolution_doubles_exactly(kernel):
    up = make_upsample(4, 'deconv', kernel)
    assert up(torch.rand(1, 4, 7, 5)).shape == (1, 4, 14, 10)


@pytest.mark.parametrize('num_stacks', [1, 2, 8])
def test_parameter_counts_grow_res_hru_hru_deconv(num_stacks):
    counts = [sum(p.numel() for p in _net(num_stacks, v, num_keypoints=16).parameters())
              for v in ('res', 'hru', 'hru-deconv')]
    assert counts[0] < counts[1] < counts[2], counts


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='unit'):
        _net(1, 'res', unit='dense')
    with pytest.raises(ValueError, match='upsample'):
        _net(1, 'res', upsample='bilinear')
