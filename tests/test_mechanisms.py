"""Mechanism checks (hrgan_plugin.experiments.mechanisms,
tools/mechanism_check.py): each check's parts on hand-made inputs with
hand-computed answers, then the tool end to end on a tiny HRGAN run with
ASR + AHO."""
import argparse
import importlib.util
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from utils import MPII_META, QUICKSTART_COCO, QUICKSTART_HRGAN, REPO, synthetic_options

from hrgan_plugin.experiments.mechanisms import MechanismCheckError, run_mechanism_checks
from hrgan_plugin.experiments.mechanisms.aho import (
    occluded_pcks,
    occlusion_drops,
    random_cells,
    top_cells,
)
from hrgan_plugin.experiments.mechanisms.asr import (
    asr_rank_correlations,
    bin_difficulty,
    spearman,
)
from hrgan_plugin.experiments.mechanisms.plausibility import (
    discriminator_errors,
    implausible_heatmaps,
    limb_moves,
    plausibility_summary,
    shift_joint,
    swap_left_right,
)
from hrgan_plugin.models.losses import BEGANLoss, NonSaturatingGANLoss

MECH_KEYS = {'mech/d_plausibility_ratio', 'mech/d_err_real', 'mech/d_err_implausible',
             'mech/asr_scale_rank_corr', 'mech/asr_rotation_rank_corr',
             'mech/aho_pck_drop_learned', 'mech/aho_pck_drop_random', 'mech/aho_drop_ratio'}


# ------------------------------------------------------------------ HRGAN
def test_swap_moves_exactly_the_left_right_pairs_of_flip_indices():
    flip = MPII_META['flip_indices']
    assert flip == [5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10]
    heatmaps = torch.arange(16.0)[None, :, None, None].expand(2, 16, 3, 3)  # channel c holds c
    swapped = swap_left_right(heatmaps, flip)
    assert swapped[:, :, 0, 0].tolist() == [[5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11,
                                             10]] * 2
    moved = [k for k in range(16) if not torch.equal(swapped[:, k], heatmaps[:, k])]
    assert moved == [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]  # pelvis..head top stay
    with pytest.raises(ValueError, match='3 entries for 16'):
        swap_left_right(heatmaps, [0, 1, 2])


def test_limb_moves_double_the_longest_limb_that_stays_in_frame():
    links = [(0, 1), (1, 2)]
    keypoints = torch.tensor([
        [[2.0, 2.0], [2.0, 5.0], [4.0, 5.0]],  # limb 0-1 (3 px) longest: joint 1 to (2, 8)
        [[2.0, 2.0], [2.0, 8.0], [5.0, 8.0]],  # 0-1 (6 px) leaves the frame either way: 1-2
        [[2.0, 2.0], [2.0, 5.0], [4.0, 5.0]],  # joint 1 unlabelled: no limb
    ])
    visible = torch.tensor([[1.0, 1, 1], [1, 1, 1], [1, 0, 1]])
    joint, offset = limb_moves(keypoints, visible, links, (10, 10))
    assert joint.tolist() == [1, 2, -1]
    assert offset.tolist() == [[0, 3], [3, 0], [0, 0]]


def test_shift_joint_translates_one_channel_of_one_person():
    heatmaps = torch.zeros(2, 2, 4, 4)
    heatmaps[:, 1, 1, 1] = 1.0  # (x, y) = (1, 1)
    heatmaps[:, 0, 0, 0] = 0.5
    out = shift_joint(heatmaps, torch.tensor([1, -1]), torch.tensor([[2, 1], [0, 0]]))
    assert torch.nonzero(out[0, 1]).tolist() == [[2, 3]]  # (row y, column x) = (2, 3)
    assert torch.equal(out[0, 0], heatmaps[0, 0]) and torch.equal(out[1], heatmaps[1])
    gone = shift_joint(heatmaps, torch.tensor([1, 1]), torch.tensor([[3, 0], [-2, 0]]))
    assert gone[:, 1].sum() == 0  # moved past the border


def test_implausible_heatmaps_swap_then_move_a_joint():
    flip, links = [1, 0, 2], [(0, 2)]
    keypoints = torch.tensor([[[1.0, 1.0], [6.0, 1.0], [1.0, 3.0]]])  # (x, y), heatmap pixels
    heatmaps = torch.zeros(1, 3, 8, 8)
    for k, (x, y) in enumerate(keypoints[0].long().tolist()):
        heatmaps[0, k, y, x] = 1.0
    out = implausible_heatmaps(heatmaps, keypoints, torch.ones(1, 3), flip, links)
    # after the swap channel 0 sits at (6, 1); along limb 0-2, (6, 1) -> (1, 3), joint 2
    # would move to (-4, 5) and joint 0 to (11, -1), both out of frame: only the swap remains
    assert torch.nonzero(out[0, 0]).tolist() == [[1, 6]]
    assert torch.nonzero(out[0, 1]).tolist() == [[1, 1]]
    assert torch.nonzero(out[0, 2]).tolist() == [[3, 1]]
    keypoints[0, 2] = torch.tensor([6.0, 3.0])  # limb 0-2 now (6, 1) -> (6, 3), 2 px
    heatmaps[0, 2] = 0
    heatmaps[0, 2, 3, 6] = 1.0
    out = implausible_heatmaps(heatmaps, keypoints, torch.ones(1, 3), flip, links)
    assert torch.nonzero(out[0, 2]).tolist() == [[5, 6]]  # joint 2 two pixels further down


class ZeroFirstChannel(torch.nn.Module):
    """A stub autoencoder D: reconstructs every channel but the first
    perfectly (the first comes back as 0), whatever the image."""

    def forward(self, heatmaps, image):
        out = heatmaps.clone()
        out[:, 0] = 0
        return out


def test_plausibility_ratio_of_a_stub_discriminator():
    # channel c of each person is constant v_c; BEGAN's per-pixel mean energy of the stub is
    # then v_0^2 / K (K = 3): real v_0 = 1, 1; swapped (flip 0 <-> 1) v_0 = 2, 3
    values = torch.tensor([[1.0, 2.0, 3.0], [1.0, 3.0, 0.0]])
    heatmaps = values[:, :, None, None].expand(2, 3, 2, 2).contiguous()
    images = torch.zeros(2, 3, 8, 8)
    loss = BEGANLoss()
    real = discriminator_errors(ZeroFirstChannel(), loss, heatmaps, images)
    broken = implausible_heatmaps(heatmaps, torch.zeros(2, 3, 2), torch.ones(2, 3), [1, 0, 2],
                                  links=[])
    implausible = discriminator_errors(ZeroFirstChannel(), loss, broken, images)
    torch.testing.assert_close(real, torch.tensor([1 / 3, 1 / 3]))
    torch.testing.assert_close(implausible, torch.tensor([4 / 3, 9 / 3]))
    summary = plausibility_summary(real, implausible)
    assert summary == pytest.approx({'mech/d_err_real': 1 / 3, 'mech/d_err_implausible': 13 / 6,
                                     'mech/d_plausibility_ratio': 6.5})


def test_classifier_discriminator_error_is_its_loss_on_calling_the_heatmaps_real():
    class FirstValueLogit(torch.nn.Module):
        def forward(self, heatmaps, image):
            return heatmaps[:, :1, 0, 0]  # one logit per person

    heatmaps = torch.tensor([2.0, -1.0])[:, None, None, None].expand(2, 1, 2, 2)
    errors = discriminator_errors(FirstValueLogit(), NonSaturatingGANLoss(), heatmaps,
                                  torch.zeros(2, 3, 4, 4))
    expected = [math.log(1 + math.exp(-2.0)), math.log(1 + math.exp(1.0))]  # -log sigmoid
    torch.testing.assert_close(errors, torch.tensor(expected))


# -------------------------------------------------------------------- ASR
def test_spearman_on_hand_ranked_vectors():
    x = torch.tensor([0.1, 0.2, 0.3, 0.4])
    assert spearman(x, torch.tensor([1.0, 2.0, 3.0, 4.0])) == pytest.approx(1.0)
    assert spearman(x, torch.tensor([4.0, 3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    # ranks (1, 2, 3) vs (1, 3, 2): 1 - 6 * 2 / (3 * 8) = 0.5
    assert spearman(torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.0, 0.9, 0.5])) == \
        pytest.approx(0.5)
    # a tie: ranks (1, 2, 3, 4) vs (1.5, 1.5, 3, 4): 4.5 / sqrt(5 * 4.5) = 3 / sqrt(10)
    assert spearman(x, torch.tensor([1.0, 1.0, 2.0, 3.0])) == pytest.approx(3 / math.sqrt(10))
    assert math.isnan(spearman(x, torch.full((4,), 0.5)))  # every bin equally hard
    assert math.isnan(spearman(x, torch.tensor([1.0, float('nan'), 2.0, 3.0])))


def test_asr_rank_correlation_of_probabilities_and_bin_difficulty():
    pck = torch.tensor([[1.0, 0.5], [0.5, float('nan')], [0.0, 0.0]])  # (bins, persons)
    torch.testing.assert_close(bin_difficulty(pck), torch.tensor([0.25, 0.5, 1.0],
                                                                 dtype=torch.float64))
    toward_hard = torch.tensor([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5]])  # mean 0.1, 0.4, 0.5
    toward_easy = toward_hard.flip(1)
    out = asr_rank_correlations({'scale': toward_hard, 'rotation': toward_easy},
                                {'scale': pck, 'rotation': pck})
    assert out == pytest.approx({'mech/asr_scale_rank_corr': 1.0,
                                 'mech/asr_rotation_rank_corr': -1.0})


# -------------------------------------------------------------------- AHO
def test_top_cells_and_random_cells():
    probs = torch.tensor([[0.1, 0.5, 0.3, 0.1], [0.6, 0.1, 0.2, 0.1]])
    assert top_cells(probs, 2).tolist() == [[1, 2], [0, 2]]
    draws = random_cells(3, 16, 2, 4, torch.Generator().manual_seed(0))
    assert draws.shape == (4, 3, 2)
    assert (draws[..., 0] != draws[..., 1]).all() and draws.min() >= 0 and draws.max() < 16
    assert torch.equal(draws, random_cells(3, 16, 2, 4, torch.Generator().manual_seed(0)))


def stub_pck(masks):
    """A stub pose model on a 2 x 2 grid: each person's PCK loses 0.5 when
    cell 0 is occluded and 0.25 when cell 3 is; the third of every three
    persons has none."""
    occluded = masks.flatten(1) == 0
    pck = 1.0 - 0.5 * occluded[:, 0].float() - 0.25 * occluded[:, 3].float()
    pck[2::3] = float('nan')
    return pck


def test_aho_drops_of_learned_and_random_cells_with_a_stub_pose_model():
    clean = torch.tensor([1.0, 1.0, float('nan')])
    learned = torch.tensor([[0, 3], [0, 1], [0, 3]])
    random = torch.tensor([[[1, 2], [2, 3], [1, 2]],    # PCK 1, 0.75
                           [[0, 1], [1, 2], [0, 1]]])   # PCK 0.5, 1
    occluded, by_draw = occluded_pcks(stub_pck, learned, random, (2, 2))
    assert occluded[:2].tolist() == [0.25, 0.5]
    assert by_draw[:, :2].tolist() == [[1.0, 0.75], [0.5, 1.0]]
    out = occlusion_drops(clean, occluded, by_draw)
    # learned: (0.75 + 0.5) / 2; random: (0 + 0.25 + 0.5 + 0) / 4
    assert out == pytest.approx({'mech/aho_pck_drop_learned': 0.625,
                                 'mech/aho_pck_drop_random': 0.1875,
                                 'mech/aho_drop_ratio': 10 / 3})
    nothing = occlusion_drops(clean, occluded, clean[None].expand(2, 3))
    assert nothing['mech/aho_pck_drop_random'] == 0 and math.isnan(nothing['mech/aho_drop_ratio'])


# ------------------------------------------------------------- end to end
@pytest.fixture(scope='module')
def tiny_run(synthetic_root, tmp_path_factory) -> dict:
    """HRGAN (the quickstart's generator and small D) with ASR + AHO (bbox
    PCK at 0.5 of the box, so that an untrained net scores some joints),
    one iteration of 3 persons after one agent pre-training update, its
    config dumped to the work dir first as tools/experiment.py does, then
    trained from that file by mmengine's runner."""
    work_dir = str(tmp_path_factory.mktemp('mechanisms_run'))
    cfg = Config.fromfile(QUICKSTART_HRGAN)
    fragment = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'adversarial_augmentation.py'))
    cfg.custom_hooks = cfg.custom_hooks + [dict(
        fragment.adversarial_augmentation_hook, hardness_norm='bbox', hardness_thr=0.5,
        pose_pretrain_epochs=0, agent_pretrain_iters=1, log_interval=1)]
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    cfg.merge_from_dict(parser.parse_args(['--options',
                                           *synthetic_options(synthetic_root)]).options)
    cfg.train_dataloader.update(batch_size=3)
    cfg.train_dataloader.dataset.indices = 3
    cfg.val_dataloader.dataset.indices = 4
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    config = osp.join(work_dir, 'config.py')
    cfg.dump(config)
    Runner.from_cfg(Config.fromfile(config)).train()
    return dict(config=config, checkpoint=osp.join(work_dir, 'epoch_1.pth'), work_dir=work_dir)


def mechanism_check_tool():
    """``tools/mechanism_check.py`` as a module (its ``main`` runs in this
    process, without a second start of torch and mmpose)."""
    spec = importlib.util.spec_from_file_location('mechanism_check',
                                                  osp.join(REPO, 'tools', 'mechanism_check.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_writes_every_check_of_an_hrgan_asr_aho_run(tiny_run, tmp_path, capsys):
    out = str(tmp_path / 'mechanisms.json')
    code = mechanism_check_tool().main([tiny_run['config'], tiny_run['checkpoint'], '--out', out,
                                        '--device', 'cpu', '--random-draws', '2'])
    stdout = capsys.readouterr().out
    assert code == 0
    with open(out) as f:
        result = json.load(f)
    with capsys.disabled():
        print('\nmechanism checks of the tiny run:', json.dumps(result))
    assert set(result) == MECH_KEYS
    assert all(isinstance(v, float) for v in result.values())
    assert result['mech/d_err_real'] > 0 and result['mech/d_err_implausible'] > 0
    assert result['mech/d_plausibility_ratio'] == pytest.approx(
        result['mech/d_err_implausible'] / result['mech/d_err_real'])
    for key in ('mech/asr_scale_rank_corr', 'mech/asr_rotation_rank_corr'):
        assert -1.0 <= result[key] <= 1.0
    drops = [result['mech/aho_pck_drop_learned'], result['mech/aho_pck_drop_random']]
    assert all(-1.0 <= d <= 1.0 for d in drops)
    if drops[1] != 0:
        assert result['mech/aho_drop_ratio'] == pytest.approx(drops[0] / drops[1])
    assert stdout.splitlines()[-1].startswith(f'wrote {out}: mech/d_err_real = ')


def test_a_plain_model_without_the_hook_gets_an_empty_object(tmp_path):
    config = str(tmp_path / 'config.py')
    Config.fromfile(QUICKSTART_COCO).dump(config)
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')  # no check applies, so it is not read
    assert run_mechanism_checks(config, str(checkpoint)) == {}


def test_a_checkpoint_without_the_hook_state_is_refused(tiny_run, tmp_path):
    ckpt = torch.load(tiny_run['checkpoint'], map_location='cpu')
    del ckpt['hook_states']['AdversarialAugmentationHook']
    stripped = str(tmp_path / 'stripped.pth')
    torch.save(ckpt, stripped)
    with pytest.raises(MechanismCheckError) as err:
        run_mechanism_checks(tiny_run['config'], stripped)
    assert str(err.value).startswith(f"checkpoint '{stripped}' has no "
                                     "hook_states['AdversarialAugmentationHook'], which config "
                                     f"'{tiny_run['config']}'")
