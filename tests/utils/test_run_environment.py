"""What a report records of the run that made it."""
import os.path as osp
import subprocess

from dld.utils.run_environment import PACKAGE_ROOT, code_commit, run_environment


def test_the_commit_is_the_checkouts_and_none_for_a_folder_inside_one(tmp_path):
    head = subprocess.run(['git', '-C', PACKAGE_ROOT, 'rev-parse', '--short=12', 'HEAD'],
                          capture_output=True, text=True)
    if head.returncode == 0:  # run from a checkout, as the tests are
        assert code_commit().rstrip('+') == head.stdout.strip()
    # site-packages of a venv inside a repository is not that repository's code
    inside = osp.join(PACKAGE_ROOT, 'dld')
    assert code_commit(inside) is None
    assert code_commit(str(tmp_path)) is None  # no repository at all


def test_the_environment_names_versions_threads_and_time():
    import torch
    env = run_environment()
    assert env['torch'] == torch.__version__ and env['threads'] == torch.get_num_threads()
    assert env['processes'] == 1  # a distributed test's record said nothing of its processes
    assert env['created'].endswith('+00:00') and env['dld']
    # the libraries that move a figure too (OpenCV renders the synthetic plates)
    import cv2
    import mmengine
    import numpy
    assert (env['mmengine'], env['numpy'], env['opencv']) == (
        mmengine.__version__, numpy.__version__, cv2.__version__)
    from dld.apis.report_writing import _provenance
    assert f'OpenCV {cv2.__version__}' in '\n'.join(_provenance(dict(environment=env)))


def test_a_checkout_under_a_non_ascii_folder_is_read_in_any_locale(tmp_path, monkeypatch):
    """git writes UTF-8; read in Windows' cp1252 a checkout under 'Ábaco' was
    a UnicodeDecodeError (0x81) that ended test.py's report."""
    root = tmp_path / 'clone_Ábaco'
    root.mkdir()
    for args in (['init', '-q'], ['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q',
                                  '--allow-empty', '-m', 'x']):
        subprocess.run(['git', '-C', str(root), *args], check=True, capture_output=True)
    monkeypatch.setattr(subprocess, '_text_encoding', lambda: 'cp1252', raising=False)
    monkeypatch.setattr('locale.getpreferredencoding', lambda do_setlocale=True: 'cp1252')
    commit = code_commit(str(root))
    assert commit is not None and len(commit) == 12
