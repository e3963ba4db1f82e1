"""Hooks that every rank must pass together, on two gloo processes with NCCL
emulated (collectives must get tensors on the communication device, CUDA):

- DivergenceGuardHook decides on values averaged over the ranks: a NaN on
  rank 1 only stops both ranks at the same iteration with the same line (a
  rank stopping alone would leave the others blocked in NCCL);
- SafeCheckpointHook.before_run: no rank reads ``last_checkpoint`` before
  rank 0 has repaired it;
- RankZeroLoggerHook: the test metrics json is rank 0's record, even when
  another rank finishes testing last (mmengine's LoggerHook writes it on
  every rank: the last writer's record, or a corrupt file, remains).

All run in one pair of spawned processes (about 15 s on 2 cores)."""
import json
import math
import os.path as osp
import time
from types import SimpleNamespace

import pytest
import torch
from dist_emulation import check_collective_devices, run_gloo_ranks
from mmengine.logging import HistoryBuffer

REPAIR_DELAY_S = 2.0  # rank 0's repair of last_checkpoint is this slow


def _runner(it: int, work_dir: str = '.') -> SimpleNamespace:
    k_t = HistoryBuffer()
    k_t.update(0.5)
    return SimpleNamespace(iter=it, work_dir=work_dir,
                           message_hub=SimpleNamespace(log_scalars={'train/k_t': k_t}))


def _test_runner(rank: int, work_dir: str) -> SimpleNamespace:
    """What LoggerHook.after_test_epoch reads: each rank's record differs
    (its own timings), the metrics are the gathered ones."""
    record = {'coco/AP': 0.5, 'time': 0.25 * (rank + 1)}
    if rank:
        record['data_time'] = 0.125
    return SimpleNamespace(
        log_dir=work_dir, test_dataloader=[None] * 3, logger=SimpleNamespace(info=print),
        log_processor=SimpleNamespace(get_log_after_epoch=lambda *a, **k: (record, '')))


def _rank_main(rank: int, work_dir: str, out_dir: str) -> None:
    """What rank ``rank`` sees; written to ``out_dir/rank{rank}.json``."""
    from hrgan_plugin.engine.hooks import (
        DivergenceError,
        DivergenceGuardHook,
        RankZeroLoggerHook,
        SafeCheckpointHook,
    )
    from hrgan_plugin.utils.atomic_file_backend import AtomicLocalBackend
    result: dict = {}
    # SafeCheckpointHook: rank 0 repairs the cut last_checkpoint, slowly
    if rank == 0:
        put_text = AtomicLocalBackend.put_text

        def slow_put_text(self, *args, **kwargs):
            time.sleep(REPAIR_DELAY_S)
            return put_text(self, *args, **kwargs)
        AtomicLocalBackend.put_text = slow_put_text
    SafeCheckpointHook(interval=1).before_run(_runner(0, work_dir))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        result['last_checkpoint'] = f.read()
    # DivergenceGuardHook: finite losses on both ranks, then a NaN on rank 1 only
    guard = DivergenceGuardHook(limits=dict(k_t=(None, 0.99)), patience=5)
    losses = [dict(loss_kpt=0.25 + rank, loss_adv=0.5),
              dict(loss_kpt=math.nan if rank == 1 else 0.25, loss_adv=0.5)]
    result['lines'] = []
    with check_collective_devices('cuda') as calls:
        for it, outputs in enumerate(losses):
            try:
                guard.after_train_iter(_runner(it), it, outputs={
                    k: torch.tensor(v) for k, v in outputs.items()})
                result['lines'].append(None)
            except DivergenceError as err:
                result['lines'].append(str(err))
    result['collectives'] = [(c.name, [str(d) for d in c.devices]) for c in calls]
    # RankZeroLoggerHook: rank 1 ends its test epoch last
    logger_hook = RankZeroLoggerHook()
    logger_hook.json_log_path = 'test.json'
    if rank == 1:
        time.sleep(REPAIR_DELAY_S)
    logger_hook.after_test_epoch(_test_runner(rank, work_dir))
    with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(result, f)


@pytest.fixture(scope='module')
def ranks(tmp_path_factory) -> list:
    """Per rank, what it saw: last_checkpoint after before_run, the guard's
    line per iteration (None: no stop) and the collectives it made."""
    work_dir = tmp_path_factory.mktemp('work_dir')
    out_dir = tmp_path_factory.mktemp('ranks')
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        (work_dir / name).write_bytes(b'x')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epo'))  # cut by a kill
    run_gloo_ranks(_rank_main, 2, str(work_dir), str(out_dir), timeout=300)
    return [json.loads((out_dir / f'rank{r}.json').read_text()) for r in range(2)]


def test_divergence_guard_stops_every_rank_with_the_same_line(ranks):
    """Rank 1's NaN reaches rank 0 through the mean; the first iteration
    (finite on both, different values) stops neither."""
    expected = 'iteration 2: loss_kpt = nan (mean over 2 ranks)'
    assert [r['lines'] for r in ranks] == [[None, expected], [None, expected]]


def test_divergence_guard_collectives_use_the_communication_device(ranks):
    """One all_reduce per iteration, on CUDA tensors under (emulated) NCCL."""
    for rank in ranks:
        assert rank['collectives'] == [['all_reduce', ['cuda:0']]] * 2


def test_test_metrics_json_is_rank_0s_record(ranks):
    [work_dir] = {osp.dirname(r['last_checkpoint']) for r in ranks}
    with open(osp.join(work_dir, 'test.json')) as f:
        assert f.read() == json.dumps({'coco/AP': 0.5, 'time': 0.25})


def test_no_rank_reads_last_checkpoint_before_rank_0_repaired_it(ranks):
    for rank in ranks:
        assert osp.basename(rank['last_checkpoint']) == 'epoch_2.pth', rank['last_checkpoint']
