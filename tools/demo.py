"""Top-down pose estimation with an mmdet person detector on images, a folder
or a video: one skeleton image (or video) and one predictions JSON per input.

    python tools/demo.py POSE_CONFIG POSE_CHECKPOINT --input PATH --output DIR \
        --det-config DET_CONFIG --det-checkpoint DET_CHECKPOINT [--device cuda:0]

PATH is an image, a video or a folder of them (not recursive). For ``a.jpg``
the demo writes ``DIR/a.jpg`` and ``DIR/a.json``; for ``b.mp4`` ``DIR/b.mp4``
and ``DIR/b.json`` (predictions per frame). Detection and pose estimation are
mmdet's ``inference_detector`` and mmpose's ``inference_topdown``, as in
mmpose's ``demo/topdown_demo_with_mmdet.py``; HRGAN checkpoints run their
generator. A missing checkpoint, or one that does not fit its config, stops
the demo with one line before anything runs.
"""
from __future__ import annotations

import argparse
import json
import mimetypes
import os
import os.path as osp
import sys
import warnings
from collections.abc import Callable

import cv2
import mmcv
import numpy as np
import torch
from mmengine.utils import ProgressBar

import hrgan_plugin  # noqa: F401  (registers the plugin; safe checkpoint loading)
from hrgan_plugin.utils.checkpoint_match import GAN_ONLY, load_matching_weights


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pose_config')
    parser.add_argument('pose_checkpoint')
    parser.add_argument('--input', required=True, help='image, video or folder of them')
    parser.add_argument('--output', required=True, help='output folder')
    parser.add_argument('--det-config', required=True, help='mmdet detector config')
    parser.add_argument('--det-checkpoint', required=True, help='mmdet detector checkpoint')
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--det-cat-id', type=int, default=0, help='person class of the detector')
    parser.add_argument('--bbox-thr', type=float, default=0.3, help='detection score threshold')
    parser.add_argument('--nms-thr', type=float, default=0.3, help='IoU threshold of box NMS')
    parser.add_argument('--kpt-thr', type=float, default=0.3, help='keypoints drawn above it')
    parser.add_argument('--draw-bbox', action='store_true', help='draw the person boxes')
    parser.add_argument('--radius', type=int, default=3, help='keypoint radius')
    parser.add_argument('--thickness', type=int, default=1, help='limb thickness')
    return parser.parse_args()


def media_kind(path: str) -> str | None:
    """``'image'``, ``'video'`` or None, from the file name."""
    kind = (mimetypes.guess_type(path)[0] or '').split('/')[0]
    return kind if kind in ('image', 'video') else None


def list_inputs(path: str) -> list[tuple[str, str]]:
    """``(path, kind)`` of an image/video, or of the images and videos in a folder."""
    if osp.isdir(path):
        found = [(osp.join(path, n), media_kind(n)) for n in sorted(os.listdir(path))]
        found = [(p, k) for p, k in found if k and osp.isfile(p)]
        if not found:
            raise FileNotFoundError(f"input folder '{path}' has no images or videos")
        return found
    if not osp.isfile(path):
        raise FileNotFoundError(f"input '{path}' does not exist")
    kind = media_kind(path)
    if kind is None:
        raise ValueError(f"input '{path}' is neither an image nor a video (by its extension)")
    return [(path, kind)]


def output_names(inputs: list[tuple[str, str]], out_dir: str) -> list[tuple[str, str]]:
    """``(drawn, json)`` output paths per input; refuses names that two inputs
    would share and outputs that would overwrite an input."""
    outputs = []
    for path, kind in inputs:
        name = osp.basename(path)
        stem = osp.splitext(name)[0]
        drawn = osp.join(out_dir, name if kind == 'image' else stem + '.mp4')
        outputs.append((drawn, osp.join(out_dir, stem + '.json')))
    sources = {osp.abspath(p) for p, _ in inputs}
    seen: dict[str, str] = {}
    for (path, _), files in zip(inputs, outputs):
        for file in files:
            if osp.abspath(file) in sources:
                raise ValueError(f"output '{file}' would overwrite an input; choose another "
                                 f'--output')
            if file in seen:
                raise ValueError(f"inputs '{seen[file]}' and '{path}' would both write "
                                 f"'{file}'")
            seen[file] = path
    return outputs


def check_files(args: argparse.Namespace) -> None:
    for flag, path in (('pose config', args.pose_config),
                       ('pose checkpoint', args.pose_checkpoint),
                       ('--det-config', args.det_config),
                       ('--det-checkpoint', args.det_checkpoint)):
        if not osp.isfile(path):
            raise FileNotFoundError(f"{flag} '{path}' does not exist")


def load_checked(init: Callable, config: str, checkpoint: str, device: str,
                 ignore: tuple[str, ...] = ()):
    """``init(config, None)`` (mmdet's ``init_detector`` or mmpose's
    ``init_model``), then the checkpoint's weights once they are known to fit,
    and its ``dataset_meta`` if it has one."""
    with warnings.catch_warnings(record=True):  # "checkpoint is None": it is loaded below
        model = init(config, None, device='cpu')
    meta = load_matching_weights(model, checkpoint, config, ignore)
    if 'dataset_meta' in meta:
        model.dataset_meta = meta['dataset_meta']
    return model.to(device)


def load_models(args: argparse.Namespace):
    """Person detector and pose model, each checked against its checkpoint."""
    from mmdet.apis import init_detector
    from mmpose.apis import init_model
    from mmpose.utils import adapt_mmdet_pipeline

    detector = load_checked(init_detector, args.det_config, args.det_checkpoint, args.device)
    detector.cfg = adapt_mmdet_pipeline(detector.cfg)
    pose = load_checked(init_model, args.pose_config, args.pose_checkpoint, args.device,
                        GAN_ONLY)
    return detector, pose


class TopdownDemo:
    """Detect people, estimate their poses, draw them."""

    def __init__(self, detector, pose, args: argparse.Namespace) -> None:
        from mmpose.registry import VISUALIZERS
        self.detector, self.pose, self.args = detector, pose, args
        vis_cfg = pose.cfg.visualizer.copy()
        vis_cfg.update(name='hrgan_demo', radius=args.radius, line_width=args.thickness)
        self.visualizer = VISUALIZERS.build(vis_cfg)
        self.visualizer.set_dataset_meta(pose.dataset_meta)

    def __call__(self, bgr: np.ndarray) -> tuple[np.ndarray, list[dict]]:
        """Skeleton image (BGR) and the instances of one BGR frame."""
        from mmdet.apis import inference_detector
        from mmpose.apis import inference_topdown
        from mmpose.evaluation.functional import nms
        from mmpose.structures import merge_data_samples, split_instances

        det = inference_detector(self.detector, bgr).pred_instances.cpu().numpy()
        keep = (det.labels == self.args.det_cat_id) & (det.scores > self.args.bbox_thr)
        boxes = np.concatenate([det.bboxes, det.scores[:, None]], axis=1)[keep]
        boxes = boxes[nms(boxes, self.args.nms_thr)]
        # no person found: mmpose's convention, the whole frame is the box
        poses = inference_topdown(self.pose, bgr, boxes[:, :4] if len(boxes) else None)
        merged = merge_data_samples(poses)
        self.visualizer.add_datasample(
            'pose', mmcv.bgr2rgb(bgr), data_sample=merged, draw_gt=False,
            draw_bbox=self.args.draw_bbox, kpt_thr=self.args.kpt_thr, show=False)
        instances = split_instances(merged.get('pred_instances'))
        for i, inst in enumerate(instances):
            inst['detected'] = bool(len(boxes))  # False: the whole-frame fallback box
            if len(boxes):
                inst['bbox_score'] = float(boxes[i, 4])
        return mmcv.rgb2bgr(self.visualizer.get_image()), instances


def run_image(demo: TopdownDemo, path: str, drawn_path: str) -> dict:
    bgr = mmcv.imread(path)
    if bgr is None:
        raise ValueError(f"image '{path}' cannot be decoded")
    drawn, instances = demo(bgr)
    mmcv.imwrite(drawn, drawn_path)
    return dict(input=path, width=bgr.shape[1], height=bgr.shape[0], instances=instances)


def run_video(demo: TopdownDemo, path: str, drawn_path: str) -> dict:
    video = mmcv.VideoReader(path)
    if not video.opened or len(video) == 0 or video.width == 0:
        raise ValueError(f"video '{path}' cannot be decoded or has no frames")
    writer = cv2.VideoWriter(drawn_path, cv2.VideoWriter_fourcc(*'mp4v'), video.fps or 25,
                             (video.width, video.height))
    if not writer.isOpened():
        raise ValueError(f"cannot write the video '{drawn_path}'")
    per_frame = []
    progress = ProgressBar(len(video))
    try:
        for i, bgr in enumerate(video):
            drawn, instances = demo(bgr)
            writer.write(drawn)
            per_frame.append(dict(frame_id=i, instances=instances))
            progress.update()
    finally:
        writer.release()
    sys.stdout.write('\n')
    return dict(input=path, width=video.width, height=video.height, fps=video.fps,
                frames=per_frame)


def main() -> int:
    args = parse_args()
    try:
        check_files(args)
        inputs = list_inputs(args.input)
        outputs = output_names(inputs, args.output)
        detector, pose = load_models(args)
    except (FileNotFoundError, ValueError) as err:  # CheckpointError is a ValueError
        print(f'error: {err}', file=sys.stderr)
        return 2
    os.makedirs(args.output, exist_ok=True)
    demo = TopdownDemo(detector, pose, args)
    meta = dict(keypoint_names=[pose.dataset_meta['keypoint_id2name'][i]
                                for i in range(pose.dataset_meta['num_keypoints'])],
                skeleton=pose.dataset_meta.get('skeleton_links', []))
    images = [p for p, kind in inputs if kind == 'image']
    progress = ProgressBar(len(images)) if images else None
    written = 0
    for (path, kind), (drawn_path, json_path) in zip(inputs, outputs):
        try:
            result = (run_image if kind == 'image' else run_video)(demo, path, drawn_path)
        except ValueError as err:
            print(f'\nwarning: skipped: {err}', file=sys.stderr)
            continue
        finally:
            if kind == 'image':
                progress.update()
        with open(json_path, 'w') as f:
            json.dump(dict(meta, **result), f, default=_to_builtin)
        written += 1
    print(f'\nwrote {written} of {len(inputs)} result(s) to {args.output}')
    return 0 if written else 1


def _to_builtin(value):
    """numpy scalars and arrays in mmpose's instance dicts."""
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else str(value)


if __name__ == '__main__':
    sys.exit(main())
