"""Checks of what README.md and docs/*.md show: commands, paths, links and
quoted model sizes.

A page is checked as a reader would run it, top to bottom:

- every shell command (fenced ``bash``/``sh``/``shell`` blocks, and inline
  code starting with ``python``, ``bash``, ``make`` or ``mim``) names config,
  tool, test and docs paths that exist (``mmpose::`` configs in mmpose's
  package), Makefile targets and variables that exist, and only flags that
  the tool it is given to accepts: its own ``--help`` (``tests/docs_help.py``),
  or for ``tools/*.sh`` the ``--help`` of the Python tool the script hands its
  remaining arguments to;
- every checkpoint, ``work_dirs/`` or ``bench_results/`` path a command reads
  exists, or is produced by an earlier command of the same page: a training
  command produces the checkpoints mmengine writes for that config
  (``epoch_N.pth`` at its checkpoint interval and last epoch,
  ``best_KEY_epoch_N.pth`` at its validation epochs, ``last_checkpoint``) in
  its work dir (mmpose's default ``work_dirs/CONFIG_NAME`` unless
  ``--work-dir`` says otherwise); other tools produce their output arguments;
- ``type='...'`` names in Python blocks are registered, and their quoted
  ``*.py`` bases exist under ``configs/``;
- inline-code paths (``configs/...``, ``tools/...``, ``tests/x.py::test_y``,
  brace lists and globs included) and relative links (with their
  ``#anchors``) resolve;
- params and GFLOPs quoted in a table row that names a config match
  ``docs/benchmarks/model_complexity.md``.

ALL-CAPS words (``CONFIG``, ``WORK_DIR``, ``CHECKPOINT``) are placeholders.
Commands, the tools' options and the Makefile are read by tests/docs_commands.py.
"""
from __future__ import annotations

import fnmatch
import glob
import os.path as osp
import re
from dataclasses import dataclass

from docs_commands import (
    PLACEHOLDER,
    REPO,
    Command,
    Flags,
    Help,
    fenced_blocks,
    forwarding,
    has_placeholder,
    makefile,
    page_commands,
    prose_lines,
)

CHECKED_ROOTS = ('configs/', 'tools/', 'tests/', 'docs/', 'hrgan_plugin/')
PRODUCED_ROOTS = ('work_dirs/', 'bench_results/')
OUTPUT_FLAGS = {'--work-dir', '--out', '--output', '--json', '--dump', '--show-dir'}
POSITIONAL_OUTPUTS = {'tools/extract_generator.py': 1, 'tools/export_onnx.py': 2}
DEFAULT_WORK_DIRS = {'tools/quickstart.py': 'work_dirs/quickstart'}
TRAINING = {'tools/train.py', 'tools/quickstart.py'}


@dataclass
class Problem:
    page: str
    line: int
    message: str

    def __str__(self) -> str:
        return f'{self.page}:{self.line}: {self.message}'


# ---------------------------------------------------------------- markdown

def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r'<[^>]+>', '', heading.strip().lower())
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def anchors(text: str) -> set:
    seen: dict = {}
    out = set()
    for _, line in prose_lines(text):
        m = re.match(r'^#{1,6}\s+(.*)', line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else f'{s}-{n}')
    return out


def expand(pattern: str) -> list:
    """Brace lists (``hg{1,2}_{res,hru}``), then globs, relative to REPO."""
    m = re.search(r'\{([^{}]*)\}', pattern)
    if m:
        return [p for alt in m.group(1).split(',')
                for p in expand(pattern[:m.start()] + alt + pattern[m.end():])]
    if any(c in pattern for c in '*?['):
        return [osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, pattern))]
    return [pattern] if osp.exists(osp.join(REPO, pattern)) else []


def path_problem(token: str) -> str | None:
    """Why a repository path (optionally ``file.py::test_name``) does not resolve."""
    path, _, test = token.partition('::')
    found = expand(path)
    if not found:
        return f'{path} does not exist'
    if test and not any(re.search(rf'^\s*def {re.escape(test)}\b', open(osp.join(REPO, f)).read(),
                                  re.M) for f in found):
        return f'{path} defines no {test}'
    return None


def mmpose_config_exists(name: str) -> bool:
    import mmpose
    return osp.isfile(osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', name))


# ---------------------------------------------------------------- checking

class ConfigFacts:
    """What a training run of a config writes (cached per config)."""

    def __init__(self) -> None:
        self.cache: dict = {}

    def products(self, config: str, work_dir: str, options: list) -> list:
        key = (config, tuple(options))
        if key not in self.cache:
            from mmengine.config import Config, DictAction
            if config.startswith('mmpose::'):
                from mmengine.hub import get_config
                cfg = get_config(config)
            else:
                cfg = Config.fromfile(osp.join(REPO, config), import_custom_modules=False)
            if options:
                action = DictAction(option_strings=['--cfg-options'], dest='opts')
                ns = type('NS', (), {})()
                action(None, ns, options)
                cfg.merge_from_dict(ns.opts)
            self.cache[key] = cfg
        cfg = self.cache[key]
        last = cfg.train_cfg.max_epochs
        hook = cfg.default_hooks.checkpoint
        every = hook.get('interval', 1)
        names = [f'epoch_{e}.pth' for e in sorted(set(range(every, last + 1, every)) | {last})]
        best = hook.get('save_best')
        if isinstance(best, str) and best != 'auto':
            val = cfg.train_cfg.get('val_interval', 1)
            key_name = best.replace('/', '_')
            names += [f'best_{key_name}_epoch_{e}.pth'
                      for e in sorted(set(range(val, last + 1, val)) | {last})]
        return [f'{work_dir}/{n}' for n in names + ['last_checkpoint']]


class PageChecker:
    """Checks one page; ``problems`` collects what is wrong."""

    def __init__(self, page: str, text: str, help_: Help, facts: ConfigFacts) -> None:
        self.page, self.text, self.help, self.facts = page, text, help_, facts
        self.problems: list = []
        self.produced: list = []
        self.targets, self.variables = makefile()

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.page, line, message))

    def run(self) -> list:
        for cmd in page_commands(self.page, self.text):
            self.check_command(cmd)
        self.check_python_blocks()
        self.check_prose()
        return self.problems

    # paths

    def check_path(self, line: int, token: str) -> None:
        if token.startswith('mmpose::'):
            if not mmpose_config_exists(token[len('mmpose::'):]):
                self.add(line, f'{token} is not a config of mmpose')
        elif token.startswith(CHECKED_ROOTS):
            why = path_problem(token)
            if why:
                self.add(line, why)

    def check_input(self, line: int, token: str) -> None:
        """A path a command reads: in the repository or produced earlier."""
        if osp.exists(osp.join(REPO, token)) or expand(token):
            return
        if any(fnmatch.fnmatch(p, token) or p.startswith(token.rstrip('/') + '/')
               for p in self.produced):
            return
        self.add(line, f'{token} is neither in the repository nor produced by an earlier '
                       f'command of this page')

    # commands

    def flags_of(self, cmd: Command) -> tuple:
        """``(Flags, positional arguments before the forwarded part, forwarded-to tool)``."""
        if cmd.program == 'bash':
            count, tool = forwarding(cmd.tool)
            return self.help.flags.get(tool or cmd.tool, Flags()), count, tool or cmd.tool
        if cmd.tool in ('mim train', 'mim test'):
            return (self.help.flags[cmd.tool] | self.help.flags[f'tools/{cmd.tool.split()[1]}.py'],
                    0, cmd.tool)
        return self.help.flags.get(cmd.tool, Flags()), 0, cmd.tool

    def check_command(self, cmd: Command) -> None:
        if cmd.program == 'make':
            return self.check_make(cmd)
        if cmd.program in ('python', 'bash') and cmd.tool and cmd.tool != 'pytest':
            self.check_path(cmd.line, cmd.tool)
            if not osp.isfile(osp.join(REPO, cmd.tool)):
                return
        if cmd.tool is None or (cmd.program not in ('python', 'bash', 'mim', 'pip')):
            return self.add(cmd.line, f'unknown command: {cmd.program}')
        flags, fixed, tool = self.flags_of(cmd)
        positional, options = [], {}
        i, args = 0, cmd.args
        while i < len(args):
            tok = args[i]
            if re.match(r'^--?[A-Za-z]', tok) and (i >= fixed or cmd.program != 'bash'):
                name, _, inline_value = tok.partition('=')
                if name not in flags.accepted and not PLACEHOLDER.match(name.lstrip('-')):
                    self.add(cmd.line, f'{tool} does not accept {name}')
                values = [inline_value] if inline_value else []
                if not inline_value and name in flags.takes_value:
                    while i + 1 < len(args) and not re.match(r'^--?[A-Za-z]', args[i + 1]):
                        values.append(args[i + 1])
                        i += 1
                        if name not in flags.takes_many:
                            break
                options[name] = values
            else:
                positional.append(tok)
            i += 1
        for tok in positional + [v for vals in options.values() for v in vals]:
            if not has_placeholder(tok):
                self.check_path(cmd.line, tok)
        self.track(cmd, tool, positional, options)

    def track(self, cmd: Command, tool: str, positional: list, options: dict) -> None:
        """Inputs must exist or have been produced; register what it produces."""
        outputs = {v for f in OUTPUT_FLAGS for v in options.get(f, [])}
        index = POSITIONAL_OUTPUTS.get(cmd.tool)
        if index is not None and len(positional) > index:
            outputs.add(positional[index])
        if not cmd.inline:
            read = positional + [v for f, vals in options.items() if f not in OUTPUT_FLAGS
                                 for v in vals]
            for tok in read:
                if tok in outputs or has_placeholder(tok):
                    continue
                if tok.endswith('.pth') or tok.startswith(PRODUCED_ROOTS):
                    self.check_input(cmd.line, tok)
        self.produced += sorted(outputs)
        config = next((p for p in positional if p.endswith('.py') and (
            p.startswith('configs/') or p.startswith('mmpose::'))), None)
        training = tool in TRAINING or cmd.tool in ('mim train', 'tools/dist_train.sh',
                                                    'tools/slurm_train.sh')
        if training and config and not has_placeholder(config) and (
                config.startswith('mmpose::') or osp.isfile(osp.join(REPO, config))):
            work_dir = (options.get('--work-dir') or [None])[0]
            if cmd.tool == 'tools/slurm_train.sh' and len(positional) > 3:
                work_dir = positional[3]
            work_dir = work_dir or DEFAULT_WORK_DIRS.get(cmd.tool) or (
                'work_dirs/' + osp.splitext(osp.basename(config))[0])
            try:
                self.produced += self.facts.products(config, work_dir.rstrip('/'),
                                                     options.get('--cfg-options', []))
            except Exception as err:  # a config that does not load is reported, not raised
                self.add(cmd.line, f'{config}: {type(err).__name__}: {err}')

    def check_make(self, cmd: Command) -> None:
        for tok in cmd.args:
            if '=' in tok:
                name, value = tok.split('=', 1)
                if name not in self.variables:
                    self.add(cmd.line, f'the Makefile sets no variable {name}')
                self.check_path(cmd.line, value)
            elif tok not in self.targets:
                self.add(cmd.line, f'the Makefile has no target {tok}')
        if 'quickstart' in cmd.args and not cmd.inline:
            values = dict(self.variables, **dict(t.split('=', 1) for t in cmd.args if '=' in t))
            config, work_dir = values['QUICKSTART_CFG'].strip(), values['QUICKSTART_DIR'].strip()
            self.produced += self.facts.products(config, work_dir, [])
        if 'data' in cmd.args or 'quickstart' in cmd.args:
            self.produced.append('data/synthetic')
        if 'bench' in cmd.args:
            self.produced.append('bench_results/')

    # python blocks and prose

    def check_python_blocks(self) -> None:
        for lang, start, lines in fenced_blocks(self.text):
            if lang != 'python':
                continue
            for i, line in enumerate(lines, start):
                for name in re.findall(r"type=['\"](\w+)['\"]", line):
                    if name not in self.help.registered:
                        self.add(i, f"type='{name}' is not a registered module")
                for path in re.findall(r"['\"](\.{0,2}/?[\w./-]+\.py)['\"]", line):
                    if not path.startswith(('configs/', 'mmpose::')) and not osp.exists(
                            osp.normpath(osp.join(REPO, 'configs', path))):
                        self.add(i, f'{path} is not a config under configs/')

    def check_prose(self) -> None:
        page_dir = osp.dirname(osp.join(REPO, self.page))
        for line, prose in prose_lines(self.text):
            for code in re.findall(r'`([^`]+)`', prose):
                for tok in code.split():
                    tok = tok.strip(',;:()')
                    if tok.startswith(CHECKED_ROOTS) and not has_placeholder(tok):
                        self.check_path(line, tok)
                    elif tok.startswith('mmpose::'):
                        self.check_path(line, tok)
            for target in re.findall(r'\]\(([^)\s]+)\)', prose):
                if re.match(r'^(https?|mailto):', target):
                    continue
                path, _, anchor = target.partition('#')
                if not path:
                    if anchor not in anchors(self.text):
                        self.add(line, f'link to {target}: no heading #{anchor} on this page')
                    continue
                full = osp.normpath(osp.join(page_dir, path))
                if not osp.exists(full):
                    self.add(line, f'link to {target}: {osp.relpath(full, REPO)} does not exist')
                elif anchor and full.endswith('.md') and anchor not in anchors(open(full).read()):
                    self.add(line, f'link to {target}: no heading #{anchor} there')
