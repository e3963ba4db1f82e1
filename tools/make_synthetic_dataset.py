"""Write the embedded synthetic keypoint dataset (COCO and MPII formats).

Example::

    python tools/make_synthetic_dataset.py --out data/synthetic
    python tools/make_synthetic_dataset.py --out data/synthetic-occlusion --preset occlusion
"""
import argparse
import time

from hrgan_plugin.datasets import write_synthetic_dataset
from hrgan_plugin.datasets.synthetic_figures import PRESETS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/synthetic', help='output folder')
    parser.add_argument('--num-train', type=int, default=1000, help='training images')
    parser.add_argument('--num-val', type=int, default=150, help='validation images')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--image-size', type=int, default=256, help='square image side (px)')
    parser.add_argument('--preset', default='default', choices=sorted(PRESETS),
                        help='default: the quickstart data; occlusion: crowded, heavily '
                             'occluded images with some unusual poses')
    parser.add_argument('--max-people', type=int, default=None,
                        help="figures per image, at most (default: the preset's, 3 or 4)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    counts = write_synthetic_dataset(
        args.out, num_train=args.num_train, num_val=args.num_val, seed=args.seed,
        image_size=args.image_size, max_people=args.max_people, preset=args.preset)
    for split, c in counts.items():
        print(f'{split}: {c["images"]} images, {c["coco_instances"]} COCO persons, '
              f'{c["mpii_instances"]} MPII persons, {c["hidden"]} of {c["keypoints"]} '
              f'labelled keypoints hidden ({100 * c["hidden"] / max(c["keypoints"], 1):.1f}%)')
    print(f'wrote {args.out} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
