"""tools/demo.py: a folder of real COCO images and a video through a randomly
initialised mmdet person detector and our pose checkpoint; one output and one
JSON per input; one-line refusals for missing or mismatching checkpoints."""
import json
import os
import os.path as osp

import cv2
import mmcv
import pytest
from utils import REPO, run_tool, single_error_line

DEMO = osp.join(REPO, 'tools', 'demo.py')


def _demo(pose_cfg: str, pose_ckpt: str, detector: tuple[str, str], src: str, out: str,
          *extra: str):
    det_cfg, det_ckpt = detector
    return run_tool(DEMO, pose_cfg, pose_ckpt, '--input', src, '--output', out,
                    '--det-config', det_cfg, '--det-checkpoint', det_ckpt, '--device', 'cpu',
                    *extra)


def test_folder_of_coco_images(trained_run, random_person_detector, testdata, tmp_path):
    src = osp.join(testdata, 'coco')
    images = sorted(n for n in os.listdir(src) if n.endswith('.jpg'))
    assert len(images) == 4
    proc = _demo(trained_run['config'], trained_run['checkpoint'], random_person_detector, src,
                 str(tmp_path), '--bbox-thr', '0')  # random weights: every scored box
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(tmp_path)) == sorted(
        images + [n.replace('.jpg', '.json') for n in images])
    for name in images:
        h, w = mmcv.imread(osp.join(src, name)).shape[:2]
        assert mmcv.imread(str(tmp_path / name)).shape[:2] == (h, w)
        with open(tmp_path / name.replace('.jpg', '.json')) as f:
            result = json.load(f)
        assert (result['width'], result['height']) == (w, h)
        assert len(result['keypoint_names']) == 17 and result['keypoint_names'][0] == 'nose'
        assert result['instances']  # the random detector fires everywhere
        for inst in result['instances']:
            assert len(inst['keypoints']) == len(inst['keypoint_scores']) == 17
            assert all(len(xy) == 2 for xy in inst['keypoints'])
            assert inst['detected'] and inst['bbox_score'] > 0  # a detector box ...
            assert inst['bbox'][0] != [0.0, 0.0, float(w), float(h)]  # ... not the fallback


def test_video(trained_run, random_person_detector, synthetic_root, tmp_path):
    """3 frames in, 3 drawn frames and 3 per-frame predictions out; a box
    threshold no detection reaches makes every frame one whole-frame person."""
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5, (192, 160))
    val = osp.join(synthetic_root, 'images', 'val')
    for name in sorted(os.listdir(val))[:3]:
        writer.write(cv2.resize(cv2.imread(osp.join(val, name)), (192, 160)))
    writer.release()
    out = tmp_path / 'out'
    proc = _demo(trained_run['config'], trained_run['checkpoint'], random_person_detector,
                 video, str(out), '--bbox-thr', '1.0')
    assert proc.returncode == 0, proc.stderr[-3000:]
    drawn = mmcv.VideoReader(str(out / 'clip.mp4'))
    assert (len(drawn), drawn.width, drawn.height) == (3, 192, 160)
    with open(out / 'clip.json') as f:
        result = json.load(f)
    assert [fr['frame_id'] for fr in result['frames']] == [0, 1, 2]
    for frame in result['frames']:
        [inst] = frame['instances']
        assert inst['bbox'] == [[0.0, 0.0, 192.0, 160.0]] and not inst['detected']
        assert len(inst['keypoints']) == 17


@pytest.mark.parametrize('fault', ['missing pose', 'mismatched pose', 'missing detector',
                                   'mismatched detector'])
def test_bad_checkpoint_is_one_line(fault, trained_run, random_person_detector, testdata,
                                    tmp_path):
    pose_cfg, pose_ckpt = trained_run['config'], trained_run['checkpoint']
    det_cfg, det_ckpt = random_person_detector
    missing = str(tmp_path / 'nowhere.pth')
    if fault == 'missing pose':
        pose_ckpt = missing
    elif fault == 'mismatched pose':  # the W18-wide quickstart weights in the W32 config
        pose_cfg = osp.join(REPO, 'configs', 'hrnet_w32_coco_256x192.py')
    elif fault == 'missing detector':
        det_ckpt = missing
    else:
        det_ckpt = pose_ckpt
    image = osp.join(testdata, 'coco', '000000000785.jpg')
    proc = _demo(pose_cfg, pose_ckpt, (det_cfg, det_ckpt), image, str(tmp_path / 'out'))
    line = single_error_line(proc)
    if fault.startswith('missing'):
        assert missing in line and 'does not exist' in line
    else:
        bad_ckpt, cfg = (pose_ckpt, pose_cfg) if 'pose' in fault else (det_ckpt, det_cfg)
        assert f"checkpoint '{bad_ckpt}' does not match config '{cfg}'" in line
        assert ('shape mismatches' in line) == (fault == 'mismatched pose')
    assert not osp.exists(tmp_path / 'out')  # refused before writing anything


def test_undecodable_video_is_skipped_and_nothing_written_exits_1(
        trained_run, random_person_detector, tmp_path):
    video = tmp_path / 'broken.mp4'
    video.write_bytes(b'not a video')
    proc = _demo(trained_run['config'], trained_run['checkpoint'], random_person_detector,
                 str(video), str(tmp_path / 'out'))
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert f"skipped: video '{video}' cannot be decoded" in proc.stderr
    assert 'wrote 0 of 1 result(s)' in proc.stdout
    assert os.listdir(tmp_path / 'out') == []


@pytest.mark.parametrize('clash', ['same stem', 'output is input'])
def test_clashing_outputs_are_one_line(clash, trained_run, random_person_detector, testdata,
                                       tmp_path):
    src = tmp_path / 'in'
    src.mkdir()
    image = osp.join(testdata, 'coco', '000000000785.jpg')
    for name in ('a.jpg', 'a.png') if clash == 'same stem' else ('a.jpg', ):
        cv2.imwrite(str(src / name), cv2.imread(image))
    out = src if clash == 'output is input' else tmp_path / 'out'
    proc = _demo(trained_run['config'], trained_run['checkpoint'], random_person_detector,
                 str(src), str(out))
    line = single_error_line(proc)
    if clash == 'same stem':
        assert f"'{src / 'a.jpg'}' and '{src / 'a.png'}' would both write '{out / 'a.json'}'" \
            in line
    else:
        assert f"output '{src / 'a.jpg'}' would overwrite an input" in line
    assert sorted(os.listdir(src)) == (['a.jpg', 'a.png'] if clash == 'same stem'
                                       else ['a.jpg'])
