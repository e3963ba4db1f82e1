"""Train, validate and visualise a quickstart model on the synthetic data.

Runs mmpose's runner on CONFIG (CPU is fine), validates with the config's
evaluator, then reloads the best checkpoint through mmpose's ``init_model``
and draws predicted skeletons on a few validation images with mmpose's
visualizer.  Writes into the work dir: checkpoints, logs, ``loss_curve.png``
(and other curves the config asks for) and ``vis/*.jpg``.

Example::

    python tools/quickstart.py configs/quickstart/hrnet_synthetic-coco_128x96.py \
        --work-dir work_dirs/quickstart
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)
from hrgan_plugin.utils.preflight import DataConfigError, check_data_paths


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Quickstart training on synthetic data')
    parser.add_argument('config')
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--num-vis', type=int, default=6, help='validation images to draw')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/train.py')
    return parser.parse_args()


def visualise(cfg_path: str, checkpoint: str, cfg: Config, options: dict, out_dir: str,
              num: int) -> list:
    """Draw predictions of ``checkpoint`` on the first ``num`` val images,
    with the validation set's person boxes."""
    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import DATASETS
    from mmpose.structures import merge_data_samples
    from mmpose.visualization import PoseLocalVisualizer

    model = init_model(cfg_path, checkpoint, device='cpu', cfg_options=options)
    visualizer = PoseLocalVisualizer(name='quickstart_vis', radius=3, line_width=2)
    visualizer.set_dataset_meta(model.dataset_meta)
    dataset = DATASETS.build(dict(cfg.val_dataloader.dataset, pipeline=[]))
    boxes: dict[str, list] = {}
    for i in range(len(dataset)):  # data_list is empty once mmengine serialises it
        info = dataset.get_data_info(i)
        boxes.setdefault(info['img_path'], []).append(info['bbox'][0])
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for path in list(boxes)[:num]:
        results = inference_topdown(model, path, np.array(boxes[path]))
        out_file = osp.join(out_dir, osp.basename(path))
        visualizer.add_datasample(
            'prediction', mmcv.imread(path, channel_order='rgb'), merge_data_samples(results),
            draw_gt=False, draw_bbox=True, kpt_thr=0.2, show=False, out_file=out_file)
        written.append(out_file)
    return written


def main() -> int:
    args = parse_args()
    start = time.perf_counter()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir
    try:
        check_data_paths(cfg, ('train_dataloader', 'val_dataloader'))
    except DataConfigError as err:
        print(f'error: {err} (run `make data` first)', file=sys.stderr)
        return 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.perf_counter() - start
    best = runner.message_hub.get_info('best_score')
    ckpt = runner.message_hub.get_info('best_ckpt') or osp.join(
        runner.work_dir, f'epoch_{runner.epoch}.pth')
    vis = visualise(args.config, ckpt, cfg, args.cfg_options or {},
                    osp.join(args.work_dir, 'vis'), args.num_vis)
    if args.num_vis and not vis:
        print(f'error: no validation image was drawn into {osp.join(args.work_dir, "vis")} '
              f'(val_dataloader.dataset lists no image)', file=sys.stderr)
        return 1
    metric = cfg.default_hooks.checkpoint.get('save_best', 'metric')
    summary = dict(config=args.config, metric=metric, best=best, checkpoint=ckpt,
                   train_seconds=round(train_s, 1),
                   total_seconds=round(time.perf_counter() - start, 1), vis=vis)
    with open(osp.join(args.work_dir, 'quickstart_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'quickstart: {metric} = {best:.4f} after {train_s:.0f} s of training; '
          f'checkpoint {ckpt}; images in {osp.join(args.work_dir, "vis")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
