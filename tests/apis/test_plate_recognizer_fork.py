"""A PlateRecognizer built before a fork reads in the forked process (a
gunicorn ``--preload`` worker): it hung there for ever (torch's OpenMP
pool does not survive a fork), with no error."""
import os.path as osp
import subprocess
import sys
import textwrap

HERE = osp.dirname(osp.abspath(__file__))

SCRIPT = textwrap.dedent('''
    import glob, multiprocessing as mp, sys
    sys.path.insert(0, {here!r})
    import torch
    import tiny_dld
    torch.set_num_threads(2)  # a pool of more than one thread, started below
    paths = tiny_dld.make_tiny_run({root!r})
    from dld.apis import PlateRecognizer
    rec = PlateRecognizer(paths['config'], paths['student'], device='cpu')
    images = sorted(glob.glob(paths['data'] + '/test/*/lr-*.png'))[:3]

    def child(queue):  # the parent has read nothing yet, as a preloading master
        queue.put([r['text'] for r in rec(images)['predictions']])

    ctx = mp.get_context('fork')
    queue = ctx.Queue()
    worker = ctx.Process(target=child, args=(queue, ))
    worker.start()
    worker.join(90)
    if worker.is_alive():
        worker.kill()
        sys.exit('the forked worker hung')
    here = [r['text'] for r in rec(images)['predictions']]
    assert queue.get() == here, 'the forked worker read otherwise'
    print('forked worker read', here)
''')


def test_a_recognizer_built_before_a_fork_reads_in_the_forked_worker(tmp_path):
    script = tmp_path / 'fork.py'
    script.write_text(SCRIPT.format(here=HERE, root=str(tmp_path / 'run')))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'forked worker read' in done.stdout
    assert 'used in a process forked after it was built: reading with 1 thread' in \
        done.stdout + done.stderr
