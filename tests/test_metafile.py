"""configs/metafile.yml (mmpose's metafile format, imported by
model-index.yml) describes every shipped config as the config is, and a
regular install packages it where `mim search` finds it: `mim search
hrgan_plugin` lists every config. About 20 s on 2 cores."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import yaml
from mmengine.config import Config
from utils import REPO

SHIPPED = sorted(glob.glob(osp.join(REPO, 'configs', '*.py'))
                 + glob.glob(osp.join(REPO, 'configs', 'quickstart', '*.py')))
DATA = {'CocoDataset': 'COCO', 'MpiiDataset': 'MPII'}


def _metafile() -> dict:
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert index == {'Import': ['configs/metafile.yml']}
    with open(osp.join(REPO, 'configs', 'metafile.yml')) as f:
        return yaml.safe_load(f)


def _sizes() -> dict:
    with open(osp.join(REPO, 'docs', 'benchmarks', 'model_complexity.md')) as f:
        return {m.group(1): (float(m.group(2)), float(m.group(3)))
                for m in re.finditer(r'^\| `([\w.-]+\.py)` \| \S+ \| ([\d.]+) \| ([\d.]+) \|',
                                     f.read(), re.M)}


def test_metafile_describes_every_shipped_config_as_it_is():
    meta = _metafile()
    collections = {c['Name'] for c in meta['Collections']}
    models = {m['Config']: m for m in meta['Models']}
    assert sorted(models) == [osp.relpath(p, REPO) for p in SHIPPED]
    sizes = _sizes()
    for path in SHIPPED:
        model = models[osp.relpath(path, REPO)]
        cfg = Config.fromfile(path, import_custom_modules=False)
        assert model['Name'] == osp.splitext(osp.basename(path))[0]
        assert model['In Collection'] in collections
        info = model['Metadata']
        assert info['Epochs'] == cfg.train_cfg.max_epochs, path
        assert info['Batch Size'] == cfg.train_dataloader.batch_size, path
        assert DATA[cfg.train_dataloader.dataset.type] in info['Training Data'], path
        if osp.basename(path) in sizes:
            assert (info['Parameters (M)'], info['FLOPs (G)']) == sizes[osp.basename(path)], path
        assert 'Results' not in model and 'Weights' not in model  # nothing trained on real data
    for collection in meta['Collections']:
        assert osp.isfile(osp.join(REPO, collection['README']))


def test_mim_search_lists_every_config_of_a_regular_install(tmp_path):
    checkout = tmp_path / 'checkout'
    shutil.copytree(REPO, checkout, symlinks=True, ignore=shutil.ignore_patterns(
        '.venv', '.git', 'data', 'work_dirs', 'docs', 'tests', '__pycache__', '*.egg-info',
        'build', '.pytest_cache', '.ruff_cache'))
    target = tmp_path / 'site'
    install = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index', '--no-build-isolation',
         '--target', str(target), '.'], cwd=str(checkout), capture_output=True, text=True)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    assert osp.isfile(target / 'hrgan_plugin' / '.mim' / 'configs' / 'metafile.yml')
    env = dict(os.environ, PYTHONPATH=str(target))
    search = subprocess.run(
        [sys.executable, '-m', 'mim', 'search', 'hrgan_plugin', '--valid-config'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert search.returncode == 0, search.stderr[-2000:]
    listed = re.findall(r"'([\w.-]+)'", search.stdout)
    assert sorted(listed) == sorted(osp.splitext(osp.basename(p))[0] for p in SHIPPED)
    hrgan = subprocess.run([sys.executable, '-m', 'mim', 'search', 'hrgan_plugin', '--model',
                            'hrgan', '--field', 'config'], cwd=str(tmp_path), env=env,
                           capture_output=True, text=True)
    assert hrgan.returncode == 0, hrgan.stderr[-2000:]
    assert 'configs/hrgan_w32_coco_256x192.py' in hrgan.stdout
    assert 'configs/hrnet_w32_coco_256x192.py' not in hrgan.stdout
