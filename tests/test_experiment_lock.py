"""One training program per experiment folder: a second ``tools/experiment.py``
on the same ``--out`` refuses before planning anything, naming the folder
and the holder's process id; the lock goes with the program that held it."""
import os

import pytest
from utils import run_tool, single_error_line

from hrgan_plugin.experiments.lock import LOCK_NAME, OutFolderBusy, out_lock


def test_second_holder_is_refused_until_the_first_releases(tmp_path):
    out = str(tmp_path)
    with out_lock(out) as path:
        assert path == str(tmp_path / LOCK_NAME)
        assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())
        with pytest.raises(OutFolderBusy, match=rf'{out} is being trained .*pid {os.getpid()}'):
            with out_lock(out):
                pass
    with out_lock(out):  # released on leaving the block
        pass


def test_lock_file_left_behind_does_not_block(tmp_path):
    # a killed program leaves its file; the kernel has dropped its flock
    (tmp_path / LOCK_NAME).write_text('999999999')
    with out_lock(str(tmp_path)):
        assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())


def test_experiment_refuses_a_folder_another_program_trains(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    with out_lock(str(out)):
        proc = run_tool('tools/experiment.py', 'configs/experiments/hrgan_vs_hrnet.py',
                        '--device', 'cpu', '--out', str(out), timeout=300)
    line = single_error_line(proc)
    assert f'{out} is being trained by another tools/experiment.py (pid {os.getpid()}' in line
    assert sorted(os.listdir(out)) == [LOCK_NAME]  # nothing planned or trained
    # --report-only reads and writes reports only: it does not wait for the lock
    with out_lock(str(out)):
        proc = run_tool('tools/experiment.py', 'configs/experiments/hrgan_vs_hrnet.py',
                        '--report-only', '--device', 'cpu', '--out', str(out), timeout=300)
    assert 'being trained' not in proc.stderr
    assert 'error: no finished runs to report' in proc.stderr
