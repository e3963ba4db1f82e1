"""tools/experiment.py: a run interrupted mid-training continues from its
last checkpoint (also in a moved output folder) and ends where the
uninterrupted run ended; a program
continued from published results takes exactly the runs it plans."""
import json

from mmengine.config import Config
from utils import QUICKSTART_COCO, run_tool, tiny_spec_options, write_spec

from hrgan_plugin.experiments.results import read_scalars
from hrgan_plugin.experiments.runs import Run, adopt_archived
from hrgan_plugin.experiments.spec import Arm


def test_interrupted_run_continues_from_its_last_checkpoint(synthetic_root, tmp_path):
    """HRNet, 2 epochs of 2 iterations with a checkpoint after each. The run
    is then put back into the state a kill during epoch 2 leaves (no result,
    ``last_checkpoint`` naming ``epoch_1.pth``, epoch 2's records logged): the
    rerun trains epoch 2 only, and its losses, validation points and final
    metrics equal the uninterrupted run's (the config re-seeds every epoch)."""
    spec = write_spec(
        tmp_path / 'resume.py', 'Tiny synthetic resume check.',
        arms=dict(hrnet=dict(config=QUICKSTART_COCO)), baseline='hrnet', seeds=[0, 1],
        metrics={'coco/AP': 'higher'}, primary='coco/AP', val_points=2,
        schedule={'train_cfg.max_epochs': 2, 'train_dataloader.batch_size': 8,
                  'default_hooks.checkpoint.interval': 1},
        cfg_options=tiny_spec_options(synthetic_root), curves=['loss_kpt'])
    out = tmp_path / 'out'
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--seeds', '0')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_dir = out / 'runs' / 'hrnet' / 'seed0'
    straight = json.loads((run_dir / 'result.json').read_text())
    assert straight['iters'] == 4 and straight['segments'] == 1
    assert [p[0] for p in straight['val_curves']] == [2, 4]

    # killed during epoch 2's checkpoint: epoch 1's checkpoint is the last one;
    # the output folder then moves (another machine): its files name the old paths
    (run_dir / 'result.json').unlink()
    (out / 'results' / 'hrnet' / 'seed0.json').unlink()
    (run_dir / 'epoch_2.pth').unlink()
    (run_dir / 'last_checkpoint').write_text(str(run_dir / 'epoch_1.pth'))
    first_log = (run_dir / 'train.log').read_text()
    old_dir = run_dir
    out = out.rename(tmp_path / 'moved')
    run_dir = out / 'runs' / 'hrnet' / 'seed0'
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--seeds', '0')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f'hrnet seed 0: resuming from {run_dir / "epoch_1.pth"}' in proc.stdout
    assert str(old_dir) not in (run_dir / 'config.py').read_text()
    resumed = json.loads((run_dir / 'result.json').read_text())
    assert resumed['segments'] == 2 and resumed['iters'] == 4
    # the second segment logged iterations 3-4 only; its records replace the first's
    second = sorted(run_dir.glob('*/vis_data/scalars.json'))[-1]
    logged = [json.loads(line)['iter'] for line in second.read_text().splitlines()
              if '"iter"' in line]
    assert logged == [3, 4]
    assert [r.get('iter') for r in read_scalars(str(run_dir)) if 'iter' in r] == [1, 2, 3, 4]
    assert resumed['curves']['loss_kpt'] == straight['curves']['loss_kpt']
    assert resumed['val_curves'] == straight['val_curves']
    assert resumed['metrics'] == straight['metrics']
    assert 0 < resumed['wall_s']
    # the log of the first attempt is kept, the second appended
    assert (run_dir / 'train.log').read_text().startswith(first_log)
    assert len((run_dir / 'train.log').read_text()) > len(first_log)

    # a folder prepared for another config is not resumed: it starts afresh
    (run_dir / 'result.json').unlink()
    (out / 'results' / 'hrnet' / 'seed0.json').unlink()
    (run_dir / 'run_key').write_text('0123456789abcdef')
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--seeds', '0')
    assert proc.returncode == 0 and 'resuming' not in proc.stdout, proc.stderr[-3000:]
    again = json.loads((run_dir / 'result.json').read_text())
    assert again['segments'] == 1 and again['metrics'] == straight['metrics']


def test_published_results_are_taken_only_for_the_planned_config(tmp_path):
    """--resume-from takes an archived result whose key is the planned run's,
    sets a stale local result of another config aside (not deleted), and
    takes nothing of another config or of a run already finished; a stage 1
    without published weights is taken again without copies of itself."""
    archive, out = tmp_path / 'published' / 'results', tmp_path / 'out'

    def result(path, key):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(key=key, metrics={'PCK': 50.0})))

    def run(arm, seed, key):
        return Run(Arm(arm, 'cfg.py'), seed, str(out / 'runs' / arm / f'seed{seed}'),
                   Config(), key, archive=str(out / 'results' / arm / f'seed{seed}.json'))

    result(archive / 'res' / 'seed0.json', 'new0')  # the planned config
    result(archive / 'res' / 'seed1.json', 'old1')  # another config
    result(archive / 'res' / 'seed2.json', 'new2')
    result(out / 'results' / 'res' / 'seed0.json', 'old0')  # stale local result
    result(out / 'results' / 'res' / 'seed2.json', 'new2')  # finished here already
    runs = [run('res', 0, 'new0'), run('res', 1, 'new1'), run('res', 2, 'new2'),
            run('hru', 0, 'x')]
    assert adopt_archived(runs, str(archive)) == 1
    assert runs[0].result()['key'] == 'new0'
    assert json.loads((out / 'results' / 'res' / 'seed0.old0.json').read_text())['key'] == 'old0'
    assert runs[1].result() is None and not (out / 'results' / 'res' / 'seed1.json').exists()
    assert sorted(p.name for p in (out / 'results' / 'res').iterdir()) == [
        'seed0.json', 'seed0.old0.json', 'seed2.json']

    # a stage 1 published without its weights is taken again on every call
    # (it is not finished here until it has them); its own earlier copy is
    # replaced, not set aside as a result of another config
    result(archive / '_pretrain-res' / 'seed0.json', 'pre0')
    stage1 = [run('_pretrain-res', 0, 'pre0')]
    assert adopt_archived(stage1, str(archive)) == 1
    assert adopt_archived(stage1, str(archive)) == 1
    assert [p.name for p in (out / 'results' / '_pretrain-res').iterdir()] == ['seed0.json']
    assert stage1[0].result()['key'] == 'pre0'
