"""``tools/gpu_check.sh``: on a machine without a GPU it refuses in one line;
its gradient check (the AMP rounding of HRGAN's adversarial term) runs here
through the internal ``--device cpu`` dry run and reports numbers."""
from __future__ import annotations

import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
from types import SimpleNamespace

import torch
from utils import REPO, run_tool

REFUSAL = ('error: tools/gpu_check.sh needs a CUDA GPU (torch.cuda.is_available() is False); '
           'nothing was run')


def test_refuses_in_one_line_without_a_gpu(tmp_path):
    out = tmp_path / 'report'
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', PYTHON=sys.executable)  # also on GPU hosts
    proc = subprocess.run(['bash', 'tools/gpu_check.sh', '--out', str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.splitlines() == [REFUSAL]
    assert proc.stdout == ''
    assert not out.exists()  # nothing was run


def test_gradient_check_dry_run_reports_cosines(synthetic_root, tmp_path):
    """One fp32 backward at lambda_G 1e-2 agrees with the reference (lambda_G
    times the fp32 difference at lambda_G 1) to 1e-4 in cosine and 1e-3 in
    norm; bf16 gets a numeric cosine (PASS or FAIL: the AMP path is tested
    elsewhere)."""
    proc = run_tool('tools/gpu_check.py', '--device', 'cpu', '--only', 'grad',
                    '--precisions', 'fp32,bf16', '--lambda-g', '1e-2', '--batch', '2',
                    '--data-root', synthetic_root, '--out', str(tmp_path), timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = (tmp_path / 'gpu_check_report.md').read_text()
    assert report in proc.stdout
    results = json.loads((tmp_path / 'gpu_check_results.json').read_text())
    rows = {r['case']: r for r in results['rows']}
    assert set(rows) == {'lambda_G 0.01, fp32', 'lambda_G 0.01, bf16'}, rows
    fp32, bf16 = rows['lambda_G 0.01, fp32'], rows['lambda_G 0.01, bf16']
    assert fp32['status'] == 'PASS', fp32
    assert fp32['figures']['cosine'] > 0.9999 and abs(fp32['figures']['rel_norm'] - 1) < 1e-3
    assert 0 < fp32['figures']['adv_share'] < 1
    assert math.isfinite(bf16['figures']['cosine']), bf16
    assert math.isfinite(bf16['figures']['rel_norm']), bf16
    assert proc.returncode == (1 if bf16['status'] == 'FAIL' else 0)
    for case, row in rows.items():
        line = re.search(rf'^\| AMP gradient \(HRGAN quickstart\) \| {re.escape(case)} \| '
                         rf'(PASS|FAIL) \| cosine (-?\d\.\d{{6}}), rel_norm ([\d.e+-]+)', report,
                         re.MULTILINE)
        assert line, report
        assert line[1] == row['status']
        assert abs(float(line[2]) - row['figures']['cosine']) < 1e-6
    assert '- result: ' in report and 'device: cpu' in report


def test_gradient_rows_restores_the_model_when_the_reference_fails(monkeypatch):
    """The fp32 reference step raises after it moved the weights and lambda_G:
    one FAIL row, and the model is back at its starting weights and weight."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    import gpu_check_grad

    model = torch.nn.Linear(2, 1)
    model.lambda_g = 2e-4
    start = {k: v.clone() for k, v in model.state_dict().items()}

    def failing_step(it, snapshot, precision, lambda_g):
        it.model.lambda_g = lambda_g
        with torch.no_grad():
            it.model.weight.add_(1.0)
        raise RuntimeError('no gradient reached G')

    monkeypatch.setattr(gpu_check_grad, 'generator_gradient', failing_step)
    rows = gpu_check_grad.gradient_rows(SimpleNamespace(model=model), ['fp32'], [1e-2], 'grad')
    assert [(r.case, r.status) for r in rows] == [('fp32 reference', 'FAIL')]
    assert 'no gradient reached G' in rows[0].note
    assert model.lambda_g == 2e-4
    for key, value in model.state_dict().items():
        assert torch.equal(value, start[key]), key
