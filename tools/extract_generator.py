"""Write a generator-only checkpoint from an HRGAN checkpoint.

The result has the state-dict keys of mmpose's ``TopdownPoseEstimator``
(backbone, neck, head), so it loads into the plain ``configs/hrnet_w32_*``
configs, mmpose's ``init_model`` and any stock tool::

    python tools/extract_generator.py work_dirs/hrgan/best.pth hrnet_from_hrgan.pth
"""
import argparse
import os.path as osp
import sys

import torch

import hrgan_plugin  # noqa: F401  (lets torch's safe loader read runner checkpoints)
from hrgan_plugin.utils.checkpoint_match import GAN_ONLY, without


def extract_generator(checkpoint: dict) -> dict:
    """Keep ``meta`` and the generator's weights; drop D, k_t, optimisers."""
    if 'state_dict' not in checkpoint:
        raise KeyError("checkpoint has no 'state_dict' entry")
    return dict(meta=checkpoint.get('meta', {}),
                state_dict=without(checkpoint['state_dict'], GAN_ONLY))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='HRGAN checkpoint (.pth)')
    parser.add_argument('out', help='output generator checkpoint (.pth)')
    args = parser.parse_args()
    if not osp.isfile(args.checkpoint):
        print(f"error: checkpoint '{args.checkpoint}' does not exist", file=sys.stderr)
        return 2
    ckpt = torch.load(args.checkpoint, map_location='cpu')
    try:
        out = extract_generator(ckpt)
    except KeyError as err:
        print(f"error: '{args.checkpoint}': {err.args[0]}", file=sys.stderr)
        return 2
    torch.save(out, args.out)
    dropped = len(ckpt['state_dict']) - len(out['state_dict'])
    print(f'wrote {args.out}: {len(out["state_dict"])} tensors kept, {dropped} dropped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
