"""The commands README.md and docs/*.md show, as tests/docs_check.py reads
them: shell commands of fenced ``bash``/``sh``/``shell``/``console`` blocks
and inline code starting with ``python``, ``bash``, ``make`` or ``mim``,
split into :class:`Command` (program, tool, arguments); the options each
tool accepts, parsed from its ``--help`` (fetched in one subprocess,
tests/docs_help.py), or for ``tools/*.sh`` from that of the Python tool the
script hands its remaining arguments to; the Makefile's targets and
variables, and the tool lines ``make -n`` runs for a target. ALL-CAPS
words are placeholders (:func:`has_placeholder`).
"""
from __future__ import annotations

import json
import os.path as osp
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SKIPPED_PROGRAMS = {'cd', 'git', 'source', 'export', 'echo', 'ls', 'cat', 'mkdir', 'rm', 'cp'}
PYTHONS = {'python', 'python3', '.venv/bin/python'}
PLACEHOLDER = re.compile(r'^[A-Z][A-Z0-9_]*$')


def has_placeholder(token: str) -> bool:
    """A path with an ALL-CAPS component (``docs/evidence/SPEC/report.md``)."""
    return any(PLACEHOLDER.match(part.split('.')[0]) for part in token.split('/') if part)


# ---------------------------------------------------------------- markdown

def fenced_blocks(text: str) -> list:
    """``(language, line of the first content line, content lines)``."""
    blocks, lang, start, lines = [], None, 0, []
    for i, line in enumerate(text.splitlines(), 1):
        m = re.match(r'^\s*```(\S*)', line)
        if m and lang is None:
            lang, start, lines = m.group(1) or 'text', i + 1, []
        elif m:
            blocks.append((lang, start, lines))
            lang = None
        elif lang is not None:
            lines.append(line)
    return blocks


def prose_lines(text: str) -> list:
    """``(line number, line)`` outside fenced blocks."""
    out, inside = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(r'^\s*```', line):
            inside = not inside
        elif not inside:
            out.append((i, line))
    return out


# ---------------------------------------------------------------- tools

@dataclass
class Flags:
    """The options a command accepts, and which of them take values."""
    accepted: set = field(default_factory=set)
    takes_value: set = field(default_factory=set)
    takes_many: set = field(default_factory=set)

    def __or__(self, other: Flags) -> Flags:
        return Flags(self.accepted | other.accepted, self.takes_value | other.takes_value,
                     self.takes_many | other.takes_many)


def parse_help(text: str) -> Flags:
    """Options from a ``--help`` text: its usage block and its option lines
    (examples in the help text do not count)."""
    flags = Flags()
    usage = re.search(r'^usage:.*?(?=\n\s*\n)', text, re.S | re.M | re.I)
    lines = (usage.group(0).splitlines() if usage else []) + [
        ln for ln in text.splitlines() if re.match(r'^\s+-', ln)]
    value = r'(?:[ =](\[?[A-Z][A-Z0-9_]*|\{[^}]*\}|\[[a-z|]+\]|<[^>]+>))?'
    for line in lines:
        for m in re.finditer(r'(?<![\w-])(--?[A-Za-z][\w-]*)' + value, line):
            flags.accepted.add(m.group(1))
            if m.group(2) and not m.group(2).startswith('[') or (
                    m.group(2) or '').startswith('[') and '|' in m.group(2):
                flags.takes_value.add(m.group(1))
                if '...' in line[m.end():m.end() + 30]:
                    flags.takes_many.add(m.group(1))
    return flags


def forwarding(script: str) -> tuple:
    """``(number of positional arguments, Python tool)`` of a ``tools/*.sh``
    script that hands ``"${@:N}"`` to ``$HERE/TOOL.py``; (None, None) if it
    passes every argument (e.g. gpu_check.sh, ``"$@"``)."""
    text = open(osp.join(REPO, script)).read()
    tool = re.search(r'\$HERE/(\w+\.py)', text)
    rest = re.search(r'"\$\{@:(\d+)\}"', text)
    tool = f'tools/{tool.group(1)}' if tool else None
    return (int(rest.group(1)) - 1 if rest else 0), tool


def makefile() -> tuple:
    """``(targets, {variable: default value})`` of the Makefile."""
    text = open(osp.join(REPO, 'Makefile')).read()
    targets = {t for line in re.findall(r'^([\w.\- ]+):(?!=)', text, re.M) for t in line.split()}
    variables = dict(re.findall(r'^([A-Z_][A-Z0-9_]*)\s*[?:]?=\s*(.*)$', text, re.M))
    return targets, variables


def make_dry_run(target: str) -> list:
    """The ``python tools/...`` lines ``make -n`` would run for ``target``
    (with ``python`` for the venv's interpreter)."""
    out = subprocess.run(['make', '-n', '-B', target, 'PY=python'], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return [' '.join(ln.split()) for ln in out.splitlines()
            if ln.strip().startswith('python tools/')]


class Help:
    """``--help`` texts of the commands the pages use, fetched in one
    subprocess (tests/docs_help.py) and parsed."""

    def __init__(self, keys: set) -> None:
        proc = subprocess.run([sys.executable, osp.join(REPO, 'tests', 'docs_help.py'),
                               *sorted(keys)], capture_output=True, text=True, cwd=REPO)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-3000:])
        self.raw = json.loads(proc.stdout.strip().splitlines()[-1])
        self.registered = set(self.raw.pop('registered'))
        self.flags = {k: parse_help(v) for k, v in self.raw.items()}


# ---------------------------------------------------------------- commands

@dataclass
class Command:
    page: str
    line: int
    program: str           # 'python', 'bash', 'make', 'mim', 'pip', ...
    tool: str | None       # 'tools/train.py', 'mim train', 'pip install', 'pytest', ...
    args: list             # tokens after the tool
    inline: bool = False   # inline code in prose: checks paths and flags only


def split_commands(lines: list, first_line: int) -> list:
    """``(line, tokens)`` per command of a shell block: continuations joined,
    comments dropped, ``&&``/``;``/``|`` separated, leading ``VAR=value``
    assignments and optional-argument brackets removed."""
    out, buf, start = [], '', None
    for i, line in enumerate(lines, first_line):
        if start is None:
            start = i
        if line.rstrip().endswith('\\'):
            buf += line.rstrip()[:-1] + ' '
            continue
        buf += line
        try:
            tokens = shlex.split(buf, comments=True)
        except ValueError:
            tokens = buf.split()
        cmd: list = []
        for tok in tokens + [';']:
            if tok in ('&&', ';', '||', '|'):
                if cmd:
                    out.append((start, cmd))
                cmd = []
            else:
                cmd.append(tok)
        buf, start = '', None
    cleaned = []
    for line, tokens in out:
        while tokens and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', tokens[0]):
            tokens = tokens[1:]
        tokens = [t.strip('[]') for t in tokens if t.strip('[]')]
        if tokens:
            cleaned.append((line, tokens))
    return cleaned


def to_command(page: str, line: int, tokens: list, inline: bool = False) -> Command | None:
    prog, rest = tokens[0], tokens[1:]
    if prog in PYTHONS:
        if rest[:2] == ['-m', 'pytest']:
            return Command(page, line, 'python', 'pytest', rest[2:], inline)
        if rest[:2] == ['-m', 'pip']:
            return Command(page, line, 'pip', f'pip {rest[2]}', rest[3:], inline)
        if rest and rest[0] == '-c':
            return None
        return Command(page, line, 'python', rest[0] if rest else None, rest[1:], inline)
    if prog == 'bash':
        return Command(page, line, 'bash', rest[0] if rest else None, rest[1:], inline)
    if prog in ('mim', 'pip'):
        return Command(page, line, prog, f'{prog} {rest[0]}' if rest else None, rest[1:], inline)
    if prog == 'make':
        return Command(page, line, 'make', None, rest, inline)
    if prog in SKIPPED_PROGRAMS:
        return None
    return Command(page, line, prog, None, rest, inline)


def page_commands(page: str, text: str) -> list:
    commands = []
    for lang, start, lines in fenced_blocks(text):
        if lang in ('bash', 'sh', 'shell', 'console'):
            for line, tokens in split_commands(lines, start):
                cmd = to_command(page, line, tokens)
                if cmd:
                    commands.append(cmd)
    for line, prose in prose_lines(text):
        for code in re.findall(r'`([^`]+)`', prose):
            if re.match(r'^(python|bash|make|mim) \S', code) and not PLACEHOLDER.match(
                    code.split()[1]):
                for _, tokens in split_commands([code], line):
                    cmd = to_command(page, line, tokens, inline=True)
                    if cmd:
                        commands.append(cmd)
    return commands


def help_keys(commands: list) -> set:
    """The ``--help`` texts the commands need."""
    keys = set()
    for c in commands:
        if c.program == 'python' and c.tool and c.tool.startswith('tools/'):
            keys.add(c.tool)
        elif c.program == 'python' and c.tool == 'pytest':
            keys.add('pytest')
        elif c.program == 'bash' and c.tool and osp.isfile(osp.join(REPO, c.tool)):
            keys.add(forwarding(c.tool)[1] or c.tool)
        elif c.program in ('mim', 'pip') and c.tool:
            keys.add(c.tool)
            if c.tool in ('mim train', 'mim test'):
                keys.add(f'tools/{c.tool.split()[1]}.py')
    return {k for k in keys if not k.startswith('tools/') or k.endswith('.py')}
