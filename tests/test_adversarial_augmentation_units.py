"""ASR/AHO building blocks with hand-computed values: reward/penalty targets,
bin sampling, pre-training targets, random references, AHO masks (PCK
hardness is in test_pck_hardness.py)."""
import numpy as np
import pytest
import torch
from mmpose.registry import MODELS

from hrgan_plugin.engine.hooks import adversarial_augmentation_hook, augmentation_setup
from hrgan_plugin.engine.hooks.adversarial_augmentation_hook import AdversarialAugmentationHook
from hrgan_plugin.models.augmentation.distributions import (
    BoundedGaussianBins,
    clip_probabilities,
    entropy,
    joint_histogram,
    reward_penalty_target,
    sample_bins,
)
from hrgan_plugin.models.augmentation.hardness import (
    heatmap_argmax,
)
from hrgan_plugin.models.augmentation.occlusion import apply_masks, grid_masks


@pytest.mark.parametrize('probs,index,harder,clip,expected', [
    # reward bin 0 by alpha=.2: .5 + .1, others .25 - .1/2
    ([0.5, 0.25, 0.25], 0, True, True, [0.6, 0.2, 0.2]),
    # reward to .72, capped at 2/3: the excess .05333 goes to the others (.14 + .02667)
    ([0.6, 0.2, 0.2], 0, True, True, [2 / 3, 1 / 6, 1 / 6]),
    ([0.6, 0.2, 0.2], 0, True, False, [0.72, 0.14, 0.14]),
    # penalise bin 1 by beta=.5: .25 - .125, others + .125/2
    ([0.5, 0.25, 0.25], 1, False, True, [0.5625, 0.125, 0.3125]),
    # others would go negative (.05 - .09): clipped at 0, renormalised
    ([0.9, 0.05, 0.05], 0, True, False, [1.0, 0.0, 0.0]),
])
def test_reward_penalty(probs, index, harder, clip, expected):
    out = reward_penalty_target(torch.tensor([probs]), torch.tensor([index]),
                                torch.tensor([harder]), alpha=0.2, beta=0.5, clip=clip)
    np.testing.assert_allclose(out[0].numpy(), expected, atol=1e-6)
    assert out.sum().item() == pytest.approx(1.0)


def test_clipping_caps_at_exactly_two_over_k():
    # k = 7, cap 2/7: the excess of bin 0 (0.4 - 0.285714) spread over 6 bins
    p = torch.tensor([[0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]])
    out = clip_probabilities(p, 2 / 7)
    np.testing.assert_allclose(out[0].numpy(), [2 / 7] + [0.1 + (0.4 - 2 / 7) / 6] * 6,
                               atol=1e-7)
    # row 0: spreading pushes a second bin over the cap: it is capped in turn
    # and its excess goes to the rest. Row 1: excess .5 - 2/7 and deficit -.1
    # net to +.1143, spread over the 6 bins under the cap (the negative one,
    # now 0, included), as the released code does
    p = torch.tensor([[0.35, 0.28, 0.2, 0.17, 0.0, 0.0, 0.0],
                      [0.5, -0.1, 0.2, 0.2, 0.2, 0.0, 0.0]])
    out = clip_probabilities(p, 2 / 7)
    assert out.max().item() <= 2 / 7 + 1e-7 and out.min().item() >= 0
    np.testing.assert_allclose(out.sum(1).numpy(), [1, 1], atol=1e-6)
    np.testing.assert_allclose(out[0, :2].numpy(), [2 / 7, 2 / 7], atol=1e-7)
    gap = (0.5 - 2 / 7 - 0.1) / 6
    np.testing.assert_allclose(out[1].numpy(), [2 / 7, gap, 0.2 + gap, 0.2 + gap, 0.2 + gap,
                                                gap, gap], atol=1e-7)
    # reward_penalty_target(clip=True) never leaves a bin above 2/k
    probs = torch.softmax(torch.randn(50, 7, generator=torch.Generator().manual_seed(0)) * 3, 1)
    target = reward_penalty_target(probs, torch.zeros(50, dtype=torch.long),
                                   torch.ones(50, dtype=torch.bool))
    assert target.max().item() <= 2 / 7 + 1e-6


def test_reward_penalty_of_no_rows_is_empty():
    out = reward_penalty_target(torch.zeros(0, 16), torch.zeros(0, 2, dtype=torch.long),
                                torch.zeros(0, dtype=torch.bool))
    assert out.shape == (0, 16)


def test_reward_penalty_is_per_row():
    p = torch.tensor([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]])
    out = reward_penalty_target(p, torch.tensor([0, 1]), torch.tensor([True, False]))
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.2, 0.2], [0.5625, 0.125, 0.3125]],
                               atol=1e-6)


def test_bin_samples_stay_inside_their_bins():
    bins = BoundedGaussianBins(7, (-0.6, 0.6), sigma=0.05)
    np.testing.assert_allclose(bins.centres.numpy(), [-0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6],
                               atol=1e-6)
    index = torch.arange(7).repeat_interleave(500)
    values = bins.sample(index, generator=torch.Generator().manual_seed(0))
    lo, hi = bins.bounds(index)
    assert torch.all(values >= lo) and torch.all(values <= hi)
    assert torch.all((values - bins.centres[index]).abs() <= 0.05 + 1e-7)
    assert values.std() > 0.3  # they spread over all bins
    with pytest.raises(ValueError, match='half the bin spacing'):
        BoundedGaussianBins(9, (-60, 60), sigma=8.0)


def test_joint_histogram_counts_all_joints_of_all_people():
    # person 1: cells 0, 1, 3 (and one unlabelled joint); person 2: cell 3 and
    # one joint outside the frame -> counts [1, 1, 0, 2] / 4, then + 1e-3
    kpts = torch.tensor([[[10., 10.], [60., 10.], [60., 60.], [10., 60.]],
                         [[70., 70.], [120., 5.], [1., 1.], [1., 1.]]])
    vis = torch.tensor([[1., 1., 1., 0.], [1., 1., 0., 0.]])
    t = joint_histogram(kpts, vis, (100, 100), (2, 2), eps=1e-3)
    expected = np.array([0.25, 0.25, 0.0, 0.5]) + 1e-3
    np.testing.assert_allclose(t.numpy(), expected / expected.sum(), atol=1e-6)


def test_entropy_of_uniform_and_peaked():
    assert entropy(torch.full((1, 4), 0.25)).item() == pytest.approx(np.log(4))
    assert entropy(torch.tensor([[1.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-9)


def test_heatmap_argmax_in_input_pixels():
    heatmaps = torch.zeros(1, 2, 8, 8)
    heatmaps[0, 0, 5, 3] = 1.0  # row 5, column 3
    heatmaps[0, 1, 0, 7] = 1.0
    # one heatmap pixel is 32 / 8 = 4 input pixels
    assert heatmap_argmax(heatmaps, (32, 32)).tolist() == [[[12.0, 20.0], [28.0, 0.0]]]


def test_reference_transforms_are_random_augmentation_independent_of_the_draw():
    """References come from the released code's random augmentation, whatever
    the augmentation net prefers: scale 2^clip(N(0, .25), +-.5), rotation
    clip(N(0, 30), +-60) applied with probability .4."""
    aug = _augmenter()
    with torch.no_grad():
        for p in aug.net.parameters():  # a net certain of its scale bin 2
            p.zero_()
        aug.net.scale_head.bias[2] = 50.0
    gen = torch.Generator().manual_seed(0)
    proposal = aug.propose([torch.rand(4000, 8, 8, 8)], n_asr=4000, generator=gen)
    scale, angle = aug.random_transforms(4000, gen)
    assert (proposal.scale_idx == 2).all()
    assert (torch.log2(proposal.scale) - 0.6).abs().max() <= 0.05 + 1e-6
    e = torch.log2(scale)
    assert e.abs().max() <= 0.5 + 1e-6 and e.std() == pytest.approx(0.24, abs=0.02)
    assert (angle == 0).float().mean() == pytest.approx(0.6, abs=0.03)
    assert angle.abs().max() <= 60 and angle[angle != 0].std() == pytest.approx(29, abs=2)
    assert abs(np.corrcoef(e.numpy(), torch.log2(proposal.scale).numpy())[0, 1]) < 0.05
    cells = aug.random_cells(4000, gen)  # AHO's reference: a random occlusion
    assert torch.bincount(cells[:, 0], minlength=4).min() > 900


def test_aho_masks_zero_exactly_the_sampled_cells():
    masks = grid_masks(torch.tensor([[5, -1], [0, 15]]), (4, 4))
    assert masks.shape == (2, 1, 4, 4)
    assert masks[0, 0, 1, 1] == 0 and masks[0].sum() == 15
    assert masks[1, 0, 0, 0] == 0 and masks[1, 0, 3, 3] == 0 and masks[1].sum() == 14
    # cell 0 beside an unused slot, in either order; a row of unused slots
    padded = grid_masks(torch.tensor([[0, -1], [-1, 0], [-1, -1]]), (4, 4)).flatten(1)
    assert padded[:2, 0].eq(0).all() and padded[:2].sum(1).tolist() == [15, 15]
    assert padded[2].eq(1).all()
    for size in ((32, 32), (16, 16), (8, 8)):
        feats = torch.ones(3, 2, *size)
        out = apply_masks(feats, masks, torch.tensor([1, 2]))
        cell = size[0] // 4
        assert torch.all(out[0] == 1)  # unlisted row untouched
        zero = out[1, 0] == 0
        assert zero[cell:2 * cell, cell:2 * cell].all() and zero.sum() == cell * cell
        assert out[2, 0, :cell, :cell].eq(0).all() and out[2, 0, -cell:, -cell:].eq(0).all()
        assert out[2].eq(0).sum() == 2 * 2 * cell * cell


def test_augmentation_net_outputs_uniform_distributions_at_start():
    net = MODELS.build(dict(type='AugmentationNet', in_channels=[8, 16]))
    net.init_weights()
    out = net([torch.rand(2, 8, 16, 12), torch.rand(2, 16, 8, 6)])
    assert out['scale'].shape == (2, 7) and out['rotation'].shape == (2, 9)
    assert out['occlusion'].shape == (2, 16)
    for v in out.values():
        np.testing.assert_allclose(v.exp().sum(-1).detach().numpy(), 1.0, atol=1e-5)
        np.testing.assert_allclose(v.exp().detach().numpy(), 1.0 / v.shape[1], atol=1e-6)


def test_each_rank_draws_its_own_bins_reproducibly(monkeypatch):
    """Ranks share the global seed; the hook's per-iteration stream is the
    same draw from it offset by the rank: different bins on different ranks,
    the same bins when a rank repeats the iteration (resume)."""
    probs = torch.ones(64, 9)

    def bins_on(rank: int) -> torch.Tensor:
        monkeypatch.setattr(adversarial_augmentation_hook, 'get_rank', lambda: rank)
        torch.manual_seed(123)  # the seed all ranks share
        return sample_bins(probs, generator=AdversarialAugmentationHook._rank_generator())

    rank0, rank1 = bins_on(0), bins_on(1)
    assert not torch.equal(rank0, rank1)
    assert torch.equal(rank0, bins_on(0))
    torch.manual_seed(123)
    assert not torch.equal(rank0, sample_bins(probs))  # not the shared global stream


def _augmenter():
    from hrgan_plugin.models.augmentation import AdversarialAugmenter
    aug = AdversarialAugmenter(scale_bins=dict(num=3, range=(-0.6, 0.6), sigma=0.05),
                               rotation_bins=dict(num=3, range=(-60.0, 60.0), sigma=5.0),
                               occlusion_grid=(2, 2), max_occluded_cells=1)
    aug.build_net([8])
    return aug


def test_augmenter_proposes_from_its_distributions_without_a_runner():
    aug = _augmenter()
    features = [torch.rand(5, 8, 8, 8)]
    proposal = aug.propose(features, n_asr=3, generator=torch.Generator().manual_seed(0))
    assert proposal.n_asr == 3
    assert {k: tuple(v.shape) for k, v in proposal.log_probs.items()} == {
        'scale': (5, 3), 'rotation': (5, 3), 'occlusion': (5, 4)}
    assert proposal.cells.shape == (2, 1) and proposal.masks.shape == (2, 1, 2, 2)
    for i, cell in enumerate(proposal.cells[:, 0].tolist()):  # one zero cell per AHO row
        assert proposal.masks[i].flatten().tolist() == [0.0 if c == cell else 1.0
                                                        for c in range(4)]
    # drawn values lie within sigma of their bin centres: scale exponents -0.6, 0, 0.6
    # (sigma 0.05), rotations -60, 0, 60 degrees (sigma 5)
    centres = torch.tensor([-0.6, 0.0, 0.6])
    assert (torch.log2(proposal.scale) - centres[proposal.scale_idx]).abs().max() <= 0.05 + 1e-6
    degrees = torch.tensor([-60.0, 0.0, 60.0])
    assert (proposal.angle - degrees[proposal.rot_idx]).abs().max() <= 5.0 + 1e-5


def test_augmenter_targets_and_kl_by_hand():
    aug = _augmenter()
    # every distribution covers all 3 adversarial rows: 2 ASR, then 1 AHO
    uniform = torch.full((3, 3), 1 / 3)
    log_probs = {'scale': uniform.log(), 'rotation': uniform.log(),
                 'occlusion': torch.full((3, 4), 0.25).log()}
    from hrgan_plugin.models.augmentation import Proposal
    proposal = Proposal(log_probs=log_probs, probs={k: v.exp() for k, v in log_probs.items()},
                        scale_idx=torch.tensor([0, 2]), rot_idx=torch.tensor([1, 1]),
                        scale=torch.ones(2), angle=torch.zeros(2),
                        cells=torch.tensor([[3]]), masks=torch.ones(1, 1, 2, 2))
    # scale: row 0 harder (reward bin 0 by 0.2), row 1 easier (penalise bin 2
    # by 0.5); rotation: both easier; AHO row harder (reward cell 3 by 0.2;
    # cap 2/4 not reached)
    targets = aug.adversarial_targets(proposal, torch.tensor([True, False]),
                                      torch.tensor([False, False]), torch.tensor([True]))
    third = 1 / 3
    reward = [third + 0.2 * third, third - 0.1 * third, third - 0.1 * third]
    penalty = [third + 0.25 * third, third + 0.25 * third, third - 0.5 * third]
    assert targets['scale'][0] == slice(0, 2) and targets['occlusion'][0] == slice(2, None)
    torch.testing.assert_close(targets['scale'][1], torch.tensor([reward, penalty]))
    middle = [third + 0.25 * third, third - 0.5 * third, third + 0.25 * third]
    torch.testing.assert_close(targets['rotation'][1], torch.tensor([middle, middle]))
    torch.testing.assert_close(targets['occlusion'][1],
                               torch.tensor([[0.25 - 0.05 / 3] * 3 + [0.3]]))
    # KL(target || uniform) summed over distributions, batch mean
    expected = sum(float((t * (t.log() - proposal.log_probs[k][rows])).sum() / len(t))
                   for k, (rows, t) in targets.items())
    assert float(aug.kl_loss(proposal.log_probs, targets)) == pytest.approx(expected, rel=1e-6)


def test_bridge_augmentation_net_is_the_reference_size_and_starts_uniform():
    from hrgan_plugin.models.augmentation import BridgeAugmentationNet
    net = BridgeAugmentationNet([256] * 5)
    # released code's ASN: 2,577,934 parameters (12 units with conv biases)
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(2_577_934, rel=0.01)
    assert len(net.inputs) + len(net.merges) + len(net.deep) == 12
    net.init_weights()
    # bridge features given coarse first are still merged fine to coarse
    feats = [torch.rand(2, 256, s, s) for s in (4, 8, 16, 32, 64)]
    out = net(feats)
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        'scale': (2, 7), 'rotation': (2, 9), 'occlusion': (2, 16)}
    np.testing.assert_allclose(out['scale'].exp().detach().numpy(), 1 / 7, atol=1e-6)
    np.testing.assert_allclose(out['occlusion'].exp().detach().numpy(), 1 / 16, atol=1e-6)


def test_hourglass_masks_reach_every_bridge_level_in_every_stack():
    from hrgan_plugin.models import HRUHourglassNet
    from hrgan_plugin.utils.model_wrappers import resolve_module
    backbone = HRUHourglassNet(num_keypoints=16, num_stacks=2, feat_channels=16, depth=3)
    model = torch.nn.Module()
    model.backbone = backbone
    features, masks = augmentation_setup.DEFAULT_MODULES['HRUHourglassNet'](backbone)
    assert features == ['backbone.hourglasses.0.up1', 'backbone.hourglasses.0.low2.up1',
                        'backbone.hourglasses.0.low2.low2.up1',
                        'backbone.hourglasses.0.low2.low2.low2']
    assert masks == features + [f.replace('hourglasses.0', 'hourglasses.1') for f in features]
    sizes = {}

    def record(name):
        def hook(module, args, out):
            sizes[name] = out.shape[-1]
        return hook

    for name in masks:
        resolve_module(model, name).register_forward_hook(record(name))
    backbone(torch.rand(1, 3, 128, 128))
    # skips at 32, 16, 8 and the 4x4 neck, in both stacks
    assert [sizes[n] for n in masks] == [32, 16, 8, 4] * 2


def test_rotation_bins_default_to_the_papers_nine_and_take_the_released_seven():
    from hrgan_plugin.models.augmentation import AdversarialAugmenter
    assert AdversarialAugmenter().rotation_centres.tolist() == [-60, -45, -30, -15, 0, 15, 30,
                                                                45, 60]
    released = AdversarialAugmenter(rotation_bins=dict(num=7, range=(-60.0, 60.0), sigma=5.0))
    assert released.rotation_centres.tolist() == [-60, -40, -20, 0, 20, 40, 60]
    assert released.scale_centres.tolist() == pytest.approx(
        [2 ** e for e in (-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6)])


def test_eval_images_counts_the_pose_net_passes_of_a_joint_iteration():
    """Batch 8 split 1:1:1 -> random 2, ASR 3, AHO 3 rows: 3 + 3 canonical /
    AHO inputs for the features, 4 judged crops per ASR row (scale and
    rotation apart, each against its reference) and 2 masked copies per AHO
    row: 24 images; 3 + 3 + 2 x 3 + 2 x 3 = 18 with scale and rotation
    judged together; ASR only (1:1:0): 4 + 4 x 4 = 20."""
    assert AdversarialAugmentationHook(split=(1, 1, 1))._split_rows(8) == ([2, 3, 4], [5, 6, 7])
    assert AdversarialAugmentationHook(split=(1, 1, 1)).eval_images(8) == 24
    assert AdversarialAugmentationHook(split=(1, 1, 1),
                                       separate_scale_rotation=False).eval_images(8) == 18
    assert AdversarialAugmentationHook(split=(1, 1, 0)).eval_images(8) == 20
