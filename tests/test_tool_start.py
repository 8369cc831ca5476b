"""A Ctrl-C while a tool loads (torch, MMEngine, its config) is one line and
the shell's status 130, not 10 to 65 lines of import internals, once per
process under the launcher (dld.tool_start, dld.dist_launch)."""
import os
import signal
import subprocess
import sys
import time

import pytest
from repo_scripts import REPO

from dld.dist_launch import LINES_ENV
from dld.tool_start import stop_line

#: A module that stands for one that loads for long (torch, MMEngine): it
#: says it is loading, then waits.
SLOW_MODULE = """
import os, time
open(os.environ['LOADING_FLAG'], 'w').close()
time.sleep(60)
"""


def _interrupted(cmd, slow_module: str, tmp_path, env=None) -> subprocess.CompletedProcess:
    """``cmd`` sent SIGINT as it loads ``slow_module`` (one in its place that
    waits), as a Ctrl-C while a tool loads torch or MMEngine."""
    (tmp_path / 'slow').mkdir()
    (tmp_path / 'slow' / f'{slow_module}.py').write_text(SLOW_MODULE)
    flag = tmp_path / 'loading'
    env = dict(env or os.environ, LOADING_FLAG=str(flag),
               PYTHONPATH=os.pathsep.join([str(tmp_path / 'slow'), REPO]))
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env,
                            # a background process of a shell ignores SIGINT; a terminal's does not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/infer.py'])
def test_a_tool_stopped_as_it_loads_says_so_in_one_line(tool, tmp_path):
    done = _interrupted([sys.executable, tool, 'configs/quickstart/teacher.py', 'x.pth', '.'],
                        'argparse', tmp_path)  # the tools' first import after ours
    assert done.stderr.splitlines() == [
        f'{os.path.basename(tool)}: stopped by Ctrl-C as it started.'], done.stderr[-2000:]
    assert done.returncode == -signal.SIGINT  # the shell's 130, as an uncaught Ctrl-C


def test_the_launcher_stopped_as_it_loads_says_so_in_one_line(tmp_path):
    env = dict(os.environ, DLD_LAUNCHER_NAME='dist_x.sh')
    done = _interrupted([sys.executable, '-m', 'dld.dist_launch', '--nproc_per_node', '2',
                         'tools/train.py', 'configs/quickstart/teacher.py'], 'torch', tmp_path,
                        env=env)
    assert done.stderr.splitlines() == ['dist_x.sh: stopped by Ctrl-C as it started.'], \
        done.stderr[-2000:]
    assert done.returncode == 130


def test_a_process_other_than_the_first_keeps_its_line_for_the_launcher(tmp_path):
    """Each process is interrupted (torchrun passes the signal on): the
    first prints the line, the others keep theirs."""
    tool = tmp_path / 'tool.py'
    tool.write_text('import dld.tool_start\n'
                    'raise KeyboardInterrupt\n')
    for rank in ('0', '1'):
        env = dict(os.environ, **{LINES_ENV: str(tmp_path), 'RANK': rank})
        done = subprocess.run([sys.executable, str(tool)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == -signal.SIGINT
        said = ['tool.py: stopped by Ctrl-C as it started.']
        assert done.stderr.splitlines() == (said if rank == '0' else []), done.stderr
        assert (tmp_path / f'rank{rank}.txt').read_text().splitlines() == said


def test_other_errors_keep_their_traceback():
    script = ('import dld.tool_start\n'
              'raise ValueError("a bug")\n')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert 'Traceback' in done.stderr and 'ValueError: a bug' in done.stderr


def test_a_signal_raised_as_an_interrupt_is_named():
    assert stop_line(KeyboardInterrupt('SIGTERM')).endswith(
        ': stopped by SIGTERM as it started.')
    assert stop_line(KeyboardInterrupt()).endswith(': stopped by Ctrl-C as it started.')


def test_every_tool_imports_it_first():
    """A tool that imports it after torch is interrupted as before, in there."""
    import ast
    import glob

    tools = glob.glob(os.path.join(REPO, 'tools', '**', '*.py'), recursive=True)
    assert len(tools) >= 10
    for path in tools:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        first = next(node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))
        assert isinstance(first, ast.Import) and first.names[0].name == 'dld.tool_start', \
            f'{path}: import dld.tool_start first'


def test_a_character_the_console_cannot_encode_is_escaped_not_a_crash(tmp_path):
    """``infer.py ... > readings.tsv`` on Windows (cp1252): a Chinese plate's
    reading was a UnicodeEncodeError, and the run's readings were lost."""
    tool = tmp_path / 'tool.py'
    tool.write_text('import sys\n'
                    'import dld.tool_start\n'
                    "print('\\u4eacA12345\\tÖ')\n"
                    "print('\\u6caaB1', file=sys.stderr)\n", encoding='utf-8')
    env = dict(os.environ, PYTHONIOENCODING='cp1252')
    done = subprocess.run([sys.executable, str(tool)], env=env, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode('cp1252')
    assert done.stdout.decode('cp1252').splitlines() == ['\\u4eacA12345\tÖ']  # Ö is cp1252's
    assert done.stderr.decode('cp1252').splitlines() == ['\\u6caaB1']


def test_the_c_locale_s_console_escapes_a_label_s_character_and_keeps_a_name_s_bytes(tmp_path):
    """Python's UTF-8 mode off in the C locale: stdout is ASCII with
    surrogateescape, which the reconfigure skipped: a label's 'Ü' in a
    warning was a '--- Logging error ---' traceback, the warning lost."""
    tool = tmp_path / 'tool.py'
    tool.write_text('import os, sys\n'
                    'import dld.tool_start\n'
                    "print('M\\u00dcNCH1', os.fsdecode(b'caf\\xe9'))\n", encoding='utf-8')
    env = dict(os.environ, LC_ALL='C', LANG='C', PYTHONCOERCECLOCALE='0', PYTHONUTF8='0')
    env.pop('PYTHONIOENCODING', None)
    done = subprocess.run([sys.executable, str(tool)], env=env, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b'M\\xdcNCH1 caf\xe9\n'  # escaped; the name's byte as it was


def test_a_spawned_worker_of_the_tool_says_nothing_of_its_interrupt(tmp_path):
    """spawn (macOS, Windows) imports the tool again in each loader worker,
    which said the tool's line once more per worker at a Ctrl-C."""
    tool = tmp_path / 'tool.py'
    tool.write_text('import dld.tool_start\n'
                    'import multiprocessing as mp\n'
                    "if __name__ == '__mp_main__':  # a Ctrl-C as the worker loads the tool\n"
                    '    raise KeyboardInterrupt\n'
                    'def work():\n'
                    '    pass\n'
                    "if __name__ == '__main__':\n"
                    "    worker = mp.get_context('spawn').Process(target=work)\n"
                    '    worker.start()\n'
                    '    worker.join()\n'
                    "    print('worker ended', worker.exitcode)\n")
    done = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.startswith('worker ended'), done.stderr
    assert 'stopped by' not in done.stderr


def test_a_tool_loaded_as_a_module_leaves_the_session_s_hook_and_streams(tmp_path):
    """A notebook that loaded tools/train.py to call its main() had its own
    Ctrl-Cs said as 'stopped by Ctrl-C as it started', without a traceback."""
    script = tmp_path / 'session.py'
    script.write_text(
        'import importlib.util, sys\n'
        'before = sys.stdout.errors\n'
        f"spec = importlib.util.spec_from_file_location('t', {REPO + '/tools/split_tracks.py'!r})\n"
        'spec.loader.exec_module(importlib.util.module_from_spec(spec))\n'
        "print(sys.excepthook is sys.__excepthook__, sys.stdout.errors == before)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.split() == ['True', 'True'], done.stderr


def test_an_interrupt_once_the_tool_runs_is_not_said_to_be_at_its_start(tmp_path):
    """make_synth_plates.py stopped after 20 s of rendering said 'stopped by
    Ctrl-C as it started'; DLD_TRACEBACK=1 shows where it was."""
    tool = tmp_path / 'tool.py'
    tool.write_text('import dld.tool_start\n'
                    'def main():\n'
                    '    raise KeyboardInterrupt\n'
                    'main()\n')
    done = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == -signal.SIGINT
    assert done.stderr.splitlines() == ['tool.py: stopped by Ctrl-C.']
    env = dict(os.environ, DLD_TRACEBACK='1')
    done = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert 'Traceback' in done.stderr and 'in main' in done.stderr


def test_a_name_s_byte_beside_a_label_s_character_keeps_its_byte():
    """A run of characters ASCII lacks that holds both (a name's undecodable
    byte, then a label's 'Ü') was escaped whole: the byte written as the
    text '\\udce9', not as the byte of the name."""
    import dld.tool_start  # noqa: F401  (registers the handler)
    name = 'caf\udce9'  # os.fsdecode(b'caf\xe9') where names are UTF-8
    assert (name + '\u00dc').encode('ascii', 'dld_escape') == b'caf\xe9\\xdc'
    assert ('\u00dc' + name + '\u4eac').encode('ascii', 'dld_escape') == \
        b'\\xdccaf\xe9\\u4eac'


def test_a_reader_that_stops_reading_ends_the_tool_quietly(tmp_path):
    """`get_flops.py ... | head`: a reader that has read enough closes the pipe;
    the tool's next print was a BrokenPipeError traceback (tools/infer.py
    alone ended quietly). DLD_TRACEBACK=1 keeps it."""
    tool = tmp_path / 'table.py'
    tool.write_text('import dld.tool_start  # noqa\nimport time\n'
                    'time.sleep(0.5)\nprint("| a |\\n" * 100000, flush=True)\n')
    for traceback in ('', '1'):
        env = dict(os.environ, PYTHONPATH=REPO, DLD_TRACEBACK=traceback)
        proc = subprocess.Popen([sys.executable, str(tool)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        proc.stdout.close()  # the reader is gone before the table is printed
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 1
        assert ('BrokenPipeError' in err) == bool(traceback), err[-2000:]


def test_a_dependency_missing_after_an_update_is_one_line_saying_what_to_install(tmp_path):
    """A checkout pulled without installing again lacked scipy: a traceback
    ending in "No module named 'scipy'"."""
    tool = tmp_path / 'analyze.py'
    tool.write_text('import dld.tool_start\n'
                    'import sys\n'
                    "sys.modules['scipy'] = None  # as if not installed\n"
                    'from scipy.stats import binomtest\n')
    done = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        'analyze.py: scipy is not installed here, and DLD needs it (since an update, if this '
        'checkout was pulled): install DLD again, `pip install -e .` from the checkout '
        '(`pip install -e ".[deploy]"` for ONNX), or `pip install scipy`']
    # a module that is no dependency of DLD's (a project's): its traceback
    tool.write_text('import dld.tool_start\nimport my_project_that_is_not_here\n')
    done = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True,
                          timeout=120)
    assert 'Traceback' in done.stderr and 'my_project_that_is_not_here' in done.stderr
    env = dict(os.environ, DLD_TRACEBACK='1')  # asked for: the traceback
    tool.write_text("import dld.tool_start, sys\nsys.modules['scipy'] = None\nimport scipy\n")
    done = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert 'Traceback' in done.stderr and "ModuleNotFoundError" in done.stderr


def test_the_dependencies_named_are_setup_s():
    import re

    from dld.tool_start import DEPENDENCIES
    with open(os.path.join(REPO, 'setup.py'), encoding='utf-8') as f:
        text = f.read()
    required = text[text.index('install_requires=['):text.index('extras_require')]
    deploy = text[text.index('DEPLOY = ['):text.index('setup(')]
    names = set(re.findall(r"'([A-Za-z][A-Za-z0-9_.-]*?)[<>=!~]", required + deploy))
    assert names == set(DEPENDENCIES.values())


def test_a_missing_part_of_an_installed_dependency_is_not_said_to_be_a_missing_package(
        monkeypatch):
    """An installed package of another version than DLD's lacks a part
    (``torch.onnx._internal.x`` of an older torch): it was "torch is not
    installed here"."""
    from dld.tool_start import missing_dependency_line
    monkeypatch.setattr(sys, 'argv', ['export_onnx.py'])
    line = missing_dependency_line(ModuleNotFoundError('x', name='torch._no_such_part'))
    assert line.startswith('export_onnx.py: torch._no_such_part is not in the torch '
                           'installed here (version '), line
    assert 'not installed here' not in line
    monkeypatch.setitem(sys.modules, 'scipy', None)  # not installed: its part is not either
    line = missing_dependency_line(ModuleNotFoundError('x', name='scipy.stats'))
    assert line.startswith('export_onnx.py: scipy is not installed here'), line


def test_the_statistical_tests_say_what_to_install_to_a_python_caller(monkeypatch):
    from dld.apis.reading_analysis import mcnemar_p
    from dld.tool_start import missing_dependency_line
    monkeypatch.setitem(sys.modules, 'scipy', None)
    monkeypatch.delitem(sys.modules, 'scipy.stats', raising=False)
    assert mcnemar_p(0, 0) == 1.0  # nothing to test
    with pytest.raises(ModuleNotFoundError, match='pip install scipy') as err:
        mcnemar_p(3, 10)
    assert missing_dependency_line(err.value)  # a tool still says it in one line
