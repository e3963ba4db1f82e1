"""The documentation shows only what works: every command, path, link, flag
and Makefile target of README.md and docs/*.md (tests/docs_check.py,
tests/docs_commands.py), the README's quickstart as `make quickstart` runs
it, the evidence table's figures as the reports' runs.csv and specs give
them, model sizes as tools/model_complexity.py counted them, and the tested
versions as installed. A planted mistake of each kind fails the check.

About 20-40 s on 2 cores: one subprocess collects every tool's --help."""
import glob
import importlib.metadata
import os.path as osp
import re
import sys

import pytest
from docs_check import REPO, ConfigFacts, PageChecker
from docs_commands import Help, help_keys, make_dry_run, page_commands
from docs_figures import check_claims_table, check_sizes, check_wall_times, tables

PAGES = ['README.md'] + sorted(osp.relpath(p, REPO) for p in glob.glob(f'{REPO}/docs/*.md'))


def _read(page: str) -> str:
    with open(osp.join(REPO, page)) as f:
        return f.read()


@pytest.fixture(scope='module')
def checker():
    commands = [c for page in PAGES for c in page_commands(page, _read(page))]
    help_ = Help(help_keys(commands) | {'tools/train.py', 'tools/test.py'})
    facts = ConfigFacts()
    return lambda page, text: PageChecker(page, text, help_, facts).run()


@pytest.mark.parametrize('page', PAGES)
def test_every_command_path_link_and_flag_of_the_page_checks_out(checker, page):
    problems = checker(page, _read(page))
    assert not problems, '\n'.join(map(str, problems))


@pytest.mark.parametrize('page', PAGES)
def test_quoted_model_sizes_are_the_counted_ones(page):
    problems = check_sizes(_read(page))
    assert not problems, '\n'.join(problems)


def _planted(old: str, new: str, page: str = 'README.md') -> str:
    text = _read(page)
    assert old in text, f'{old!r} is no longer on {page}: plant the mistake elsewhere'
    return text.replace(old, new, 1)


@pytest.mark.parametrize('old,new,expected', [
    ('configs/hrgan_w32_coco_256x192.py', 'configs/hrgan_w32_coco_256x129.py',
     'configs/hrgan_w32_coco_256x129.py does not exist'),
    ('epoch_130.pth', 'epoch_210.pth', 'epoch_210.pth is neither in the repository nor produced'),
    ('--work-dir', '--work-dri', 'does not accept --work-dri'),
    ('make quickstart', 'make quickstrat', 'the Makefile has no target quickstrat'),
    ('(docs/installation.md)', '(docs/instalation.md)', 'docs/instalation.md does not exist'),
])
def test_a_planted_mistake_fails_the_check(checker, old, new, expected):
    problems = checker('README.md', _planted(old, new))
    assert any(expected in str(p) for p in problems), problems


def test_the_readme_quickstart_is_what_make_quickstart_runs():
    text = _read('README.md')
    section = text.split('\n## Quickstart', 1)[1].split('\n## ', 1)[0]
    shown = [' '.join(ln.split()) for block in re.findall(r'```bash\n(.*?)```', section, re.S)
             for ln in block.splitlines() if ln.startswith('python tools/')]
    assert shown == make_dry_run('quickstart')
    assert 'make quickstart' in section


def test_the_evidence_table_quotes_the_runs():
    problems = check_claims_table(_read('README.md'), REPO)
    assert not problems, '\n'.join(problems)


def test_a_planted_evidence_figure_fails_the_check():
    text = _read('README.md')
    header, rows = next((h, r) for h, r in tables(text) if 'seed claim (source)' in h)
    line, row = next((n, cells) for n, cells in rows
                     if not cells[header.index('effect at convergence, mean [95% CI]')].startswith(
                         'not run yet'))
    level = re.findall(r'\d+\.\d+', row[header.index('baseline at convergence')])[0]
    lines = text.splitlines()
    lines[line - 1] = lines[line - 1].replace(level, f'{float(level) + 0.01:.4f}', 1)
    assert any('baseline' in p for p in check_claims_table('\n'.join(lines), REPO))


@pytest.mark.parametrize('page', ['docs/cost_and_speed.md'])
def test_quoted_wall_times_are_the_runs(page):
    problems = check_wall_times(_read(page), osp.join(REPO, 'docs'))
    assert not problems, '\n'.join(problems)


def test_the_compatibility_table_is_the_tested_stack():
    text = _read('docs/installation.md')
    header, rows = next((h, r) for h, r in tables(text) if h == ['package', 'version'])
    assert len(rows) >= 8
    for _, (package, version) in rows:
        name = package.split()[0]
        installed = ('.'.join(map(str, sys.version_info[:3])) if name == 'Python'
                     else importlib.metadata.version(name))
        assert f'{installed}.'.startswith(f'{version}.'), (name, version, installed)


@pytest.mark.parametrize('page', PAGES)
def test_no_page_points_outside_the_repository_or_uses_private_names(page):
    """Sources are named by their public repository or title, not by
    initials or by files outside the repository."""
    text = _read(page)
    for pattern in (r'\.\./shared', r'FIDELITY\.md', r'\bseed 0\d\d\b', r'\bSY\b', r'\bZD\b'):
        assert not re.search(pattern, text), (page, pattern)
