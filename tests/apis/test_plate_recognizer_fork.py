"""A PlateRecognizer built before a fork reads in the forked process (a
gunicorn ``--preload`` worker): it hung there for ever (torch's OpenMP
pool does not survive a fork), with no error."""
import os.path as osp
import subprocess
import sys
import textwrap

HERE = osp.dirname(osp.abspath(__file__))

#: The scripts' way to run ``child(queue)`` in a forked worker: one that
#: hangs there ends the script, saying so.
IN_FORKED_WORKER = textwrap.dedent('''
    def in_forked_worker(child):
        ctx = mp.get_context('fork')
        queue = ctx.Queue()
        worker = ctx.Process(target=child, args=(queue, ))
        worker.start()
        worker.join(90)
        if worker.is_alive():
            worker.kill()
            sys.exit('the forked worker hung')
        return queue
''').strip()

SCRIPT = textwrap.dedent('''
    import glob, multiprocessing as mp, sys
    sys.path.insert(0, {here!r})
    import torch
    import tiny_dld
    {in_forked_worker}
    torch.set_num_threads(2)  # a pool of more than one thread, started below
    paths = tiny_dld.make_tiny_run({root!r})
    from dld.apis import PlateRecognizer
    rec = PlateRecognizer(paths['config'], paths['student'], device='cpu')
    images = sorted(glob.glob(paths['data'] + '/test/*/lr-*.png'))[:3]

    def child(queue):  # the parent has read nothing yet, as a preloading master
        queue.put([r['text'] for r in rec(images)['predictions']])

    queue = in_forked_worker(child)
    here = [r['text'] for r in rec(images)['predictions']]
    assert queue.get() == here, 'the forked worker read otherwise'
    print('forked worker read', here)
''')


def _run_forking_script(tmp_path, name: str, template: str) -> subprocess.CompletedProcess:
    """Run ``template`` (a script whose forked worker reads) in a process of
    its own; it must end well, its worker having read."""
    script = tmp_path / name
    script.write_text(template.format(in_forked_worker=IN_FORKED_WORKER, here=HERE,
                                      root=str(tmp_path / 'run')))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'forked worker read' in done.stdout
    return done


def test_a_recognizer_built_before_a_fork_reads_in_the_forked_worker(tmp_path):
    done = _run_forking_script(tmp_path, 'fork.py', SCRIPT)
    assert 'used in a process forked after it was built: reading with 1 thread' in \
        done.stdout + done.stderr


BUILT_IN_CHILD = textwrap.dedent('''
    import glob, multiprocessing as mp, sys
    sys.path.insert(0, {here!r})
    import torch
    import tiny_dld
    {in_forked_worker}
    torch.set_num_threads(2)
    paths = tiny_dld.make_tiny_run({root!r})
    from dld.apis import PlateRecognizer
    # the parent runs a torch op on its 2 threads (a warm-up, a model of its own)
    torch.nn.functional.conv2d(torch.randn(8, 16, 64, 64), torch.randn(16, 16, 3, 3))
    images = sorted(glob.glob(paths['data'] + '/test/*/lr-*.png'))[:3]

    def child(queue):  # a fork pool's initializer: the worker builds its own
        rec = PlateRecognizer(paths['config'], paths['student'], device='cpu')
        queue.put([r['text'] for r in rec(images)['predictions']])

    queue = in_forked_worker(child)
    here = [r['text'] for r in PlateRecognizer(paths['config'], paths['student'],
                                               device='cpu')(images)['predictions']]
    assert queue.get() == here, 'the forked worker read otherwise'
    assert torch.get_num_threads() == 2, "the parent's threads were changed"
    print('forked worker read', here)
''')


def test_a_recognizer_built_in_a_worker_forked_after_torch_ran_reads(tmp_path):
    """The advice for workers is to build one in each (a pool's
    initializer, gunicorn's post_fork): forked from a parent that had run
    a torch op on several threads, the worker hung for ever while it built
    its recognizer (torch's OpenMP pool), where one built before the fork
    read (with one thread)."""
    done = _run_forking_script(tmp_path, 'built_in_child.py', BUILT_IN_CHILD)
    assert 'built in a process forked from one that had imported torch: reading with 1 ' \
        'thread' in done.stdout + done.stderr
