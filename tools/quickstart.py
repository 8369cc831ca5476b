"""Synthetic plates -> HR teacher -> DLD -> FLOPs/accuracy report -> inference.

    python tools/quickstart.py [--setting {efficiency,lr}] [--work-dir DIR]
        [--teacher-config CFG] [--teacher DIR] [--config CFG] [--tracks N] [--amp]
        [--teacher-epochs N] [--min-teacher-accuracy P] [--teacher-attempts N]
        [--retrain-teacher]

A short schedule (configs/quickstart/) that runs on a laptop CPU; the full
schedule is benchmarks/full_schedule.py. Each step is one of the ordinary
tools, run as a subprocess and printed, so the quickstart shows the commands
a user would type. ``--setting efficiency`` (the default) has the student
read the HR crop down-sampled to the scale the selector picks, the paper's
setting, where a short schedule already saves FLOPs at the teacher's
accuracy; ``--setting lr`` has it read the real-LR-style frames, which needs
the full schedule to read many plates (docs/results.md).
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import os
import os.path as osp
import sys
import time
from collections import Counter
from typing import Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DLD_CONFIGS = dict(efficiency='configs/quickstart/dld_efficiency.py',
                   lr='configs/quickstart/dld.py')


def config_path(path: str) -> str:
    """``path`` absolute when it names a file from here, else as given (the
    defaults, relative to the repository): every step runs in the
    repository, where a config given relative to another folder is not."""
    return osp.abspath(path) if osp.isfile(path) else path


def _step_env() -> dict:
    """The environment of a step: this one, with the folder the quickstart
    was started from importable, since the steps run in the repository: a
    config's ``custom_imports`` find a project's package there
    (docs/customize.md), as they would from the tools run there."""
    env = dict(os.environ)
    here = os.getcwd()
    if here != REPO:
        env['PYTHONPATH'] = os.pathsep.join(p for p in (env.get('PYTHONPATH'), here) if p)
    return env


def run(step: str, cmd: list) -> float:
    """Run one step's tool and return the seconds it took; a step that
    fails or is stopped ends the quickstart with one line after the tool's
    own (:func:`dld.utils.tool_steps.run_step`)."""
    from dld.utils.tool_steps import run_step
    return run_step(step, cmd, cwd=REPO, env=_step_env(), script='quickstart.py')


#: Below this share of validation plates the quickstart teacher has not left
#: the attention decoder's early plateau (it reads about 90 % when it has),
#: and a student distilled from it would read nothing either.
MIN_TEACHER_ACCURACY = 0.5


def teacher_accuracy(teacher_dir: str):
    """``(score, key, words)`` of the best validation score of the teacher
    run in ``teacher_dir`` (its accuracy, or 1-NED where its config keeps
    the best by that), or None where its best is kept by another key."""
    from dld.engine.checkpoint import load_checkpoint_file
    from dld.models.distillers.teacher_checkpoint import best_validation_score
    ckpt = load_checkpoint_file(osp.join(teacher_dir, 'best.pth'), map_location='cpu')
    return best_validation_score(ckpt)


def teacher_is_good(teacher_dir: str, minimum: float) -> bool:
    """Whether the teacher in ``teacher_dir`` scores at least ``minimum`` on
    its validation set (always, when ``minimum <= 0``, or where its best is
    kept by a key that is no accuracy or 1-NED, which is said). Said by its
    key: a word config's 1-NED was printed as the share of plates read."""
    if minimum <= 0:
        return True
    best = teacher_accuracy(teacher_dir)
    if best is None:
        print('=== the teacher\'s best checkpoint records no best score of one accuracy or '
              '1-NED key (save_best by another key, or by several): --min-teacher-accuracy is '
              'not checked', flush=True)
        return True
    print(f'=== the teacher {best[2]}', flush=True)
    return best[0] >= minimum


def read_repo_config(config: str):
    """``config`` read as the steps read it: relative to the repository."""
    from dld.utils import read_config
    return read_config(config if osp.isabs(config) else osp.join(REPO, config))


def attempt_dir(work: str, attempt: int) -> str:
    """The work dir of the teacher's ``attempt`` (0: the first)."""
    return f'{work}/teacher' if attempt == 0 else f'{work}/teacher_{attempt + 1}'


#: What a quickstart's teacher was trained from, written beside it once judged good.
TEACHER_STAMP = 'quickstart_teacher.json'


def teacher_stamp(config: str, options: list) -> dict:
    """What makes a teacher the one a quickstart would train now: its config
    as read (``_base_`` files included) and the ``--cfg-options`` of its
    epochs."""
    import hashlib
    cfg = read_repo_config(config)
    return dict(config_sha256=hashlib.sha256(cfg.pretty_text.encode()).hexdigest(),
                options=list(options))


def finished_teacher(work: str, config: str, options: list, attempts: int,
                     minimum: float) -> Optional[str]:
    """The teacher an earlier quickstart in ``work`` trained to its end from
    ``config`` with ``options`` and judged good, or None: each attempt's
    work dir whose stamp (:data:`TEACHER_STAMP`, written once a teacher is
    judged good, removed as one starts training) says so."""
    wanted = teacher_stamp(config, options)
    for attempt in range(attempts):
        teacher_dir = attempt_dir(work, attempt)
        try:
            with open(osp.join(teacher_dir, TEACHER_STAMP), encoding='utf-8') as f:
                stamp = json.load(f)
        except (OSError, ValueError):
            continue
        if stamp == wanted and osp.isfile(osp.join(teacher_dir, 'best.pth')) and \
                teacher_is_good(teacher_dir, minimum):
            return teacher_dir
    return None


def config_seed(config: str) -> int:
    """The ``randomness.seed`` a config trains with (MMEngine draws one when
    it has none; 0 stands for it here)."""
    cfg = read_repo_config(config)
    return int((cfg.get('randomness') or {}).get('seed') or 0)


def train_teacher(config: str, work: str, minimum: float, attempts: int, flags: list,
                  options: list) -> str:
    """Train the teacher until one reads ``minimum`` of the validation plates,
    at most ``attempts`` times, each from another seed; its work dir.

    Why: whether the attention decoder leaves its early plateau within the
    short schedule depends on the run's draws (docs/get_started.md); a run
    that stays on it leaves with the next seed, which costs one more
    teacher (about 5 min) instead of a failed quickstart. ``flags`` and
    ``options`` (``--cfg-options``) go to every run."""
    seed = config_seed(config)
    for attempt in range(attempts):
        teacher_dir = attempt_dir(work, attempt)
        seeded = [] if attempt == 0 else [f'randomness.seed={seed + attempt}']
        cfg_options = ['--cfg-options', *options, *seeded] if options or seeded else []
        title = ('1/5 HR teacher (generates the synthetic plates first)' if attempt == 0 else
                 f'1/5 HR teacher, attempt {attempt + 1} of {attempts}, seed {seed + attempt}')
        if attempt == 0:  # a newcomer saw 'plate/accuracy: 0.0000' at epoch 5 and worried
            print('=== (its validation may read 0 % of plates for several epochs: the attention '
                  "decoder's early plateau, expected; the teacher is judged once trained)",
                  flush=True)
        stamp = osp.join(teacher_dir, TEACHER_STAMP)
        if osp.exists(stamp):  # this run replaces the teacher it vouched for
            os.remove(stamp)
        run(title, ['tools/train.py', config, '--work-dir', teacher_dir, '--brief', *flags,
                    *cfg_options])
        if teacher_is_good(teacher_dir, minimum):
            from dld.utils.atomic_file import write_json_atomic
            write_json_atomic(stamp, teacher_stamp(config, options), indent=1)
            return teacher_dir
        if attempt + 1 < attempts:
            print('=== it has not left its early plateau: training it again from another seed',
                  flush=True)
    raise SystemExit(
        f'No teacher of {attempts} scored at least {100 * minimum:.0f} % on its validation set: '
        'they did not leave their early plateau, and a student distilled from them would '
        'read nothing. Train for longer: run the quickstart again with --teacher-epochs 20 '
        '(or accept a teacher with --min-teacher-accuracy 0).')


def write_sample(config: str, out: str, num_tracks: int) -> str:
    """The first ``num_tracks`` tracks of the config's test split as a label
    file with absolute paths, for inference with their labels."""
    import dld.datasets  # noqa: F401 - registers the datasets
    from dld.registry import DATASETS

    dataset_cfg = read_repo_config(config).test_dataloader.dataset
    # Relative data paths are the repository's, as for the tools.
    data_root = osp.join(REPO, dataset_cfg.get('data_root') or '')
    dataset = DATASETS.build(dict(dataset_cfg, data_root=data_root, pipeline=[], lazy_init=True))
    if not hasattr(dataset, 'iter_tracks'):
        raise SystemExit(f'{config}: the inference step reads tracks from a plate dataset '
                         f'(PairedPlateDataset and its kin); test_dataloader.dataset is a '
                         f'{type(dataset).__name__}')
    lines = []
    for rec in dataset.iter_tracks():
        if isinstance(rec, Exception):
            raise rec
        images = ','.join(rec.lr_paths)
        if rec.hr_paths:
            images += '|' + ','.join(rec.hr_paths)
        lines.append(f'{images}\t{rec.text}\n')
        if len(lines) == num_tracks:
            break
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        f.writelines(lines)
    return out


def summarise_predictions(predictions: str) -> str:
    """How many sample frames and tracks were read right, at which scales."""
    with open(predictions, encoding='utf-8') as f:
        frames = [json.loads(line) for line in f]
    read = [r for r in frames if r['error'] is None]
    right = sum(r['text'] == r.get('gt_text') for r in read)
    scales = Counter(r['scale'] for r in read)
    mix = ', '.join(f'{s:g}x {n}' for s, n in sorted(scales.items(), reverse=True))
    line = f'{right}/{len(frames)} sample frames read right (scales chosen: {mix})'
    from dld.apis import tracks_path
    tracks_file = tracks_path(predictions)
    if osp.isfile(tracks_file):
        with open(tracks_file, encoding='utf-8') as f:
            tracks = [json.loads(line) for line in f]
        voted = sum(t['text'] is not None and t['text'] == t.get('gt_text') for t in tracks)
        line += f'; {voted}/{len(tracks)} tracks by majority vote over their frames'
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--setting', choices=sorted(DLD_CONFIGS), default='efficiency',
                        help='what the student reads: the down-sampled HR crop (efficiency) '
                        'or the real-LR-style frames (lr)')
    parser.add_argument('--work-dir', default='work_dirs/quickstart',
                        help='where every run, report and reading goes')
    parser.add_argument('--teacher-config', default='configs/quickstart/teacher.py',
                        help='config of the teacher step 1 trains (default: %(default)s)')
    parser.add_argument('--teacher', metavar='DIR',
                        help="a teacher trained already: the work dir of an earlier "
                        "quickstart's teacher (its best.pth), e.g. to try the other --setting; "
                        'step 1 is skipped')
    parser.add_argument('--retrain-teacher', action='store_true',
                        help='train the teacher again where an earlier quickstart in '
                        '--work-dir trained one from the same config and epochs (by default '
                        'it is read again)')
    parser.add_argument('--config', help='the DLD config (default: the setting\'s quickstart one)')
    parser.add_argument('--tracks', type=int, default=4,
                        help='test tracks read in the inference step (5 frames each)')
    parser.add_argument('--amp', action='store_true',
                        help='train in mixed precision (tools/train.py --amp): bfloat16 on '
                        'a CPU with AVX512-BF16 or AMX, float16 on CUDA')
    parser.add_argument('--teacher-epochs', type=int,
                        help="the teacher's epochs (default: its config's)")
    parser.add_argument('--min-teacher-accuracy', type=float, default=MIN_TEACHER_ACCURACY,
                        help='train the teacher again from another seed when it reads fewer '
                        f'validation plates than this (default {MIN_TEACHER_ACCURACY}; 0 '
                        'takes any teacher); of a config that keeps its best by 1-NED, '
                        'its 1-NED')
    parser.add_argument('--teacher-attempts', type=int, default=2,
                        help='teachers trained at most before the quickstart stops (default 2)')
    args = parser.parse_args(argv)
    if args.tracks < 1:
        parser.error('--tracks must be >= 1')
    if args.teacher_epochs is not None and args.teacher_epochs < 1:
        parser.error('--teacher-epochs must be >= 1')
    if args.teacher_attempts < 1:
        parser.error('--teacher-attempts must be >= 1')
    if args.teacher is not None and args.teacher_epochs is not None:
        parser.error('--teacher-epochs trains a teacher; --teacher gives one trained already')
    if args.teacher is not None and args.retrain_teacher:
        parser.error('--retrain-teacher trains a teacher; --teacher gives one trained already')
    if args.teacher is not None and not osp.isfile(osp.join(args.teacher, 'best.pth')):
        parser.error(f'--teacher {args.teacher}: no best.pth in it; give the work dir of a '
                     "teacher's run (the quickstart's is <work-dir>/teacher)")
    work = osp.abspath(args.work_dir)
    config = config_path(args.config or DLD_CONFIGS[args.setting])
    teacher_config = config_path(args.teacher_config)
    dld_dir = f'{work}/dld'
    amp = ['--amp'] if args.amp else []
    epochs = [] if args.teacher_epochs is None else [
        f'train_cfg.max_epochs={args.teacher_epochs}',
        f'param_scheduler.0.end={args.teacher_epochs}']
    start = time.time()
    earlier = None
    if args.teacher is None and not args.retrain_teacher:
        earlier = finished_teacher(work, teacher_config, epochs, args.teacher_attempts,
                                   args.min_teacher_accuracy)
    if earlier is not None:  # a second quickstart threw a good teacher away (6 min)
        teacher_dir = earlier
        print(f'\n=== 1/5 HR teacher: the one an earlier quickstart trained, in {teacher_dir} '
              '(--retrain-teacher trains it again)', flush=True)
    elif args.teacher is None:
        teacher_dir = train_teacher(teacher_config, work, args.min_teacher_accuracy,
                                    args.teacher_attempts, amp, epochs)
    else:
        teacher_dir = osp.abspath(args.teacher)
        print(f'\n=== 1/5 HR teacher: the one in {teacher_dir} (--teacher)', flush=True)
        if not teacher_is_good(teacher_dir, args.min_teacher_accuracy):
            raise SystemExit(
                f'The teacher in {teacher_dir} scores below '
                f'{100 * args.min_teacher_accuracy:.0f} % on its validation set: a student '
                'distilled from it would read nothing. Train one (leave out --teacher), or '
                'accept it with --min-teacher-accuracy 0.')
    run('2/5 DLD student + selector',
        ['tools/train.py', config, '--work-dir', dld_dir, '--brief', *amp,
         '--cfg-options', f'model.teacher_ckpt={teacher_dir}'])
    from dld.engine.checkpoint import read_checkpoint_pointer
    ckpt = read_checkpoint_pointer(osp.join(dld_dir, 'last_checkpoint'))
    student = osp.join(work, 'student.pth')
    run('3/5 keep student + selector', ['tools/extract_student.py', ckpt, student])
    report = osp.join(work, 'report')
    run('4/5 FLOPs-versus-accuracy report',
        ['tools/flops_accuracy.py', config, ckpt, '--teacher-ckpt',
         osp.join(teacher_dir, 'best.pth'), '--out', report])
    sample = write_sample(config, osp.join(work, 'sample.txt'), args.tracks)
    predictions = osp.join(work, 'predictions.jsonl')
    run('5/5 inference with per-image scale selection',
        ['tools/infer.py', config, student, sample, '--track', '--out', predictions,
         '--vis', osp.join(work, 'vis')])
    print(f'\n{summarise_predictions(predictions)} (of the sample; the test split\'s figures '
          f'are in {report}/report.md).')
    if args.setting == 'lr' and args.config is None:  # it read a fifth of the plates
        print('=== the LR setting reads few plates on this short schedule: the real-LR-style '
              'frames need the full one (docs/results.md); here it shows the pipeline',
              flush=True)
    print(f'\nAll done in {(time.time() - start) / 60:.1f} min. Outputs:\n'
          f'  teacher:      {teacher_dir}/best.pth\n'
          f'  DLD:          {ckpt}\n'
          f'  student only: {student}\n'
          f'  report:       {report}/report.md (+ .csv, .json, pareto.png, scales.png)\n'
          f'  predictions:  {predictions} (+ .tracks.jsonl), drawings in {work}/vis/,\n'
          f'                of the test tracks in {sample}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
