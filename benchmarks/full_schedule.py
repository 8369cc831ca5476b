"""The full schedule behind docs/results.md, as one command.

    python benchmarks/full_schedule.py [--work-dir work_dirs/results] [--redo]
        [--setting all|efficiency|lr|lr-control] [--amp] [--skip-analyses]

Trains the HR teacher; DLD in the efficiency setting (student reads
down-sampled HR): its student stage (selector frozen, five 5-epoch
one-cycle runs, each from the last, each on 7500 plates rendered when read,
new ones every epoch) and its selector stage (student frozen, on a rendered
set the student has never read), then calibrates its reread cascade on the
validation split for a 30 % FLOPs budget (tools/calibrate_reread.py) and
measures how close any selector could come to the oracle
(benchmarks/selector_headroom.py); the no-KD LR student (3 epochs on the
rendered training plates, then three cycles on plates rendered when read);
and DLD in the LR-recovery setting (student reads the real-LR-style frames):
joint training, three student-stage cycles on plates rendered when read,
then its selector stage on the same unread set. Each setting's selector
stage is also trained at several FLOPs penalties
(benchmarks/selector_gamma_sweep.py), and the LR lead is given a paired
interval (benchmarks/paired_lead.py). Then writes both
FLOPs/accuracy reports (the efficiency one with the calibrated cascade) and
the LR setting's headroom, times a training step and inference, and ends
with ``benchmarks/check_targets.py``, which prints every target's figures.

A step whose output already exists is skipped (``--redo`` reruns
everything), and a training run that was interrupted resumes from its last
checkpoint, so an interrupted schedule continues where it stopped. Each step
is an ordinary tool, printed before it runs. ``--setting efficiency`` and
``--setting lr`` run one setting's steps (after the teacher), so the two can
run side by side on a machine with cores to spare (the second waits while
the first trains the teacher, then reuses it); ``--setting all``
afterwards does what is left and checks the targets. ``--setting lr-control``
(not part of "all") runs the LR DLD chain again with the teacher's losses
switched off, the recipe control of docs/results.md; it stops at once,
naming them, when the LR runs it reads are not trained yet.

``--amp`` trains every run in mixed precision (``tools/train.py --amp``);
the reports still read the float32 checkpoints in float32.
``--skip-analyses`` leaves out the selector headroom and the gamma sweeps,
which no target's verdict needs (about 1.5 h of the schedule).
``--dry-run`` prints every step's command and whether it would run, resume
or be skipped, and runs and writes nothing: checkpoints not trained yet are
named by the path they will have.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
import time

from tabulate import tabulate

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.script_exit import Refusal, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic, write_text_atomic  # noqa: E402
from dld.utils.file_lock import file_lock  # noqa: E402
from dld.utils.tool_steps import run_step  # noqa: E402

# Student-stage cycles: 5-epoch one-cycle runs, each from the last, on plates
# rendered when read (stream seed = cycle number), so no plate is read twice.
# On the 7500 plates on disk the student learned those plates rather than
# the small scales: after three cycles the online student read 5.9 pt more
# test plates at 0.3x (benchmarks/online_plates.py, docs/results.md).
STUDENT_CYCLES = 5
STUDENT_CONFIG = 'configs/dld_plate_hr_online.py'
# The selector learns on plates the student has not read: on the training
# plates it saw readings better than the student's on new ones (validation:
# 98.53 % at 23.1 % FLOPs there, 99.73 % at 25.5 % here).
SELECTOR_CONFIG = 'configs/dld_plate_hr_selector_fresh.py'
# LR setting: 5-epoch student-stage cycles on plates rendered when read after
# the 3-epoch joint run (configs/dld_plate.py), each from the last. The no-KD
# student gets the same schedule and data: 3 epochs, then as many cycles.
LR_STUDENT_CYCLES = 3
LR_STUDENT_CONFIG = 'configs/dld_plate_student_online.py'
NOKD_CYCLE_CONFIG = 'configs/student_plate_lr_online.py'
LR_SELECTOR_CONFIG = 'configs/dld_plate_selector_fresh.py'
FIVE_EPOCH_CYCLE = ['train_cfg.max_epochs=5', 'train_cfg.val_interval=5',
                    'param_scheduler.0.end=5']
SETTINGS = ('all', 'efficiency', 'lr', 'lr-control')
# The LR recipe control (``--setting lr-control``, not part of "all"): the LR
# DLD chain with the teacher's losses switched off (the selector still learns
# from the teacher's readings). One third cycle without them read as well as
# the published one (docs/results.md), so the lead over the no-KD student may
# be the recipe's (two scales per image) rather than the teacher's.
NO_TEACHER_LOSSES = ['model.losses.skd=None', 'model.losses.feature=None']
TEACHER_SHARE = 'paired_teacher_share_lr.json'  # the DLD student against the control's
PAIRED_LEAD = 'paired_lead_lr.json'  # the DLD student against the no-KD one
# Each setting's tag in the names of its outputs (report_hr, gamma_lr.json, ...).
SETTING_TAGS = dict(efficiency='hr', lr='lr')
SCALES = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)  # the students' per-cycle reports
TRAIN_DONE = 'train_done.json'  # written by train() when a run exits cleanly
# Flags every training run gets after its config (main sets ``--amp`` here).
TRAIN_FLAGS: list = []
# ``--dry-run``: steps are printed, not run; counts what each would do.
DRY_RUN: dict = dict(on=False, run=0, resume=0, skip=0)
# The step that trains each run of the schedule (its work dir's name), and the
# setting that runs it: named when a later step or script finds it missing.
RUN_STEPS = ((r'teacher', 'step 1/8', None),
             (r'dld_hr_(cycle\d+|selector)', 'steps 2/8 to 2b/8', 'efficiency'),
             (r'nokd_lr(_cycle\d+)?', 'steps 3/8 and 3a/8', 'lr'),
             (r'dld_lr(_student_cycle\d+|_selector)?', 'steps 4/8 to 4b/8', 'lr'),
             (r'control_lr(_cycle\d+)?', 'steps C/4', 'lr-control'))
# The LR setting's runs the recipe control reads beside its own.
LR_CONTROL_READS = (*(f'nokd_lr_cycle{c}' for c in range(1, LR_STUDENT_CYCLES + 1)),
                    'dld_lr_selector')


def add_amp_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--amp', action='store_true',
                        help='train every run in mixed precision (tools/train.py --amp)')


def use_amp(enabled: bool) -> None:
    """Give every later training run ``--amp`` (or take it away)."""
    TRAIN_FLAGS[:] = ['--amp'] if enabled else []


def dry_run(step: str, cmd: list, what: str = 'run') -> bool:
    """Under ``--dry-run``: print the step as it would start, count it, and
    say so (the caller then returns); else False."""
    if not DRY_RUN['on']:
        return False
    DRY_RUN[what] += 1
    print(f'\n=== {step} [would {what}]\n$ python {" ".join(cmd)}', flush=True)
    return True


def skipped(step: str, done: str) -> None:
    DRY_RUN['skip'] += 1
    print(f'=== {step}: skipped, {done} exists', flush=True)


#: What the line that ends a stopped or failed schedule adds.
GO_ON = ('the same command goes on from there: finished steps are skipped, an interrupted '
         'training run resumes')


def script_name() -> str:
    """The schedule script being run (seed_spread.py, say, runs its steps too)."""
    return osp.basename(sys.argv[0]) or 'full_schedule.py'


def run_tool(step: str, cmd: list) -> float:
    """Run one step's tool in the repository and return the seconds it
    took; a step that fails or is stopped ends the script in one line after
    the tool's own, saying how to go on."""
    return run_step(step, cmd, cwd=REPO, script=script_name(), again=GO_ON)


def run(step: str, cmd: list, done: str, redo: bool) -> None:
    if not redo and osp.exists(osp.join(REPO, done)):
        skipped(step, done)
        return
    if dry_run(step, cmd):
        return
    run_tool(step, cmd)


def train(step: str, cmd: list, work_dir: str, redo: bool) -> None:
    """Run a ``tools/train.py`` step in ``work_dir``; skip it once it has finished.

    A run counts as finished only when it exits cleanly, which writes
    ``TRAIN_DONE`` (mmengine's ``last_checkpoint`` appears after the first
    epoch, so an interrupted run has one too). An interrupted run is resumed
    from its latest checkpoint (``--resume``) rather than started again.
    ``--brief`` keeps each run's set-up text (some 750 to 950 lines) in its log
    file: a schedule of some 20 runs printed it on the console every time.
    """
    done = osp.join(REPO, work_dir, TRAIN_DONE)
    cmd = [*cmd[:2], '--brief', *TRAIN_FLAGS, *cmd[2:]]
    if redo and dry_run(step, cmd):
        return
    if redo:
        # The old run's marker (and checkpoint pointer) go first: a redo
        # interrupted later must neither count as done nor resume the old run.
        for name in (TRAIN_DONE, 'last_checkpoint'):
            if osp.exists(osp.join(REPO, work_dir, name)):
                os.remove(osp.join(REPO, work_dir, name))
    if not redo and is_trained(work_dir):  # as every other step reads it
        skipped(step, f'{work_dir}/{TRAIN_DONE if osp.exists(done) else "best.pth"}')
        return
    resume = not redo and osp.exists(osp.join(REPO, work_dir, 'last_checkpoint'))
    if resume:
        step, cmd = f'{step} (resumed: interrupted before)', [*cmd[:2], '--resume', *cmd[2:]]
    if dry_run(step, cmd, 'resume' if resume else 'run'):
        return
    minutes = run_tool(step, cmd) / 60
    write_json_atomic(done, dict(command=cmd, minutes=minutes))  # never half a marker


def repo_path(path: str) -> str:
    """``path`` as the steps, run in the repository, read it: relative to the
    repository inside it, absolute outside (not ``../../tmp/x``)."""
    full = osp.join(REPO, path)  # an absolute path stays as it is
    inside = osp.relpath(full, REPO)
    return osp.normpath(full) if inside.split(os.sep)[0] == os.pardir else inside


def checkpoint_of(work_dir: str) -> str:
    """The run's best checkpoint (validated), else its last one; under
    ``--dry-run``, a run not trained yet gives the best one it will have."""
    best = osp.join(work_dir, 'best.pth')
    if osp.exists(osp.join(REPO, best)) or DRY_RUN['on'] and not is_trained(work_dir):
        return best
    with open(osp.join(REPO, work_dir, 'last_checkpoint')) as f:
        return repo_path(f.read().strip())


def is_trained(work_dir: str) -> bool:
    """Whether the run in ``work_dir`` finished here (``TRAIN_DONE``) or was
    validated elsewhere (``best.pth`` without this machine's
    ``last_checkpoint``: copied from another machine). A run interrupted
    here has a ``best.pth`` from its first validation too: it is not, and
    :func:`train` resumes it. (train skipped only TRAIN_DONE, the sweeps
    took any best.pth: a dry run said a copied run would train again, and a
    sweep read an interrupted one as trained.)"""
    def there(name: str) -> bool:
        return osp.exists(osp.join(REPO, work_dir, name))
    return there(TRAIN_DONE) or (there('best.pth') and not there('last_checkpoint'))


def made_by(w: str, run: str) -> str:
    """The step and command that train ``run`` (a name in the work dir ``w``)."""
    step, setting = next(((step, setting) for pattern, step, setting in RUN_STEPS
                          if re.fullmatch(pattern, run)), (None, None))
    command = (f'`python benchmarks/full_schedule.py --work-dir {w}'
               + (f' --setting {setting}`' if setting else '`'))
    return f'{step} of {command}' if step else command


def require_runs(w: str, runs, reader: str) -> None:
    """Stop at once when ``reader`` needs runs of ``w`` that are not trained,
    naming each with what trains it: else it fails on the first one only
    when it reaches it, maybe hours of training later."""
    missing = [run for run in runs if not is_trained(f'{w}/{run}')]
    if missing:
        raise Refusal(f'{reader} reads runs that are not trained yet:\n' + ''.join(
            f'  {w}/{run}: {made_by(w, run)}\n' for run in missing) + 'Train them first.')


def exclusive(path: str):
    """Hold an exclusive lock on the file ``path`` for the block; yields
    whether another process held it first (and so may have done the work).

    Why: ``--setting efficiency`` and ``--setting lr`` started side by side
    both begin with the same teacher run; the second waits here until the
    first has trained it. A no-op where ``fcntl`` is missing (not POSIX)."""
    return file_lock(path, on_wait=lambda: print(
        f'=== waiting for {path}: another process holds it', flush=True))


def hr_teacher(w: str, redo: bool) -> str:
    """Train the HR teacher in ``w``/teacher unless done; its checkpoint.

    Every setting (and seed_spread.py) starts with it: a schedule started
    beside one training it waits, then reuses it, even under ``--redo`` (the
    other one is distilling from it by then)."""
    teacher = f'{w}/teacher'
    if DRY_RUN['on']:  # no lock file: nothing is written
        train('1/8 HR teacher', ['tools/train.py', 'configs/teacher_plate_hr.py', '--work-dir',
                                 teacher], teacher, redo)
        return checkpoint_of(teacher)
    with exclusive(osp.join(REPO, w, '.teacher.lock')) as waited:
        train('1/8 HR teacher', ['tools/train.py', 'configs/teacher_plate_hr.py', '--work-dir',
                                 teacher], teacher, redo and not waited)
    return checkpoint_of(teacher)


def reread_options(path: str) -> list:
    """The ``--cfg-options`` that deploy the cascade tools/calibrate_reread.py chose."""
    if DRY_RUN['on'] and not osp.exists(osp.join(REPO, path)):
        return ['--cfg-options', f'model.test_cfg.reread.min_score=<from {path}>',
                f'model.test_cfg.reread.scales=<from {path}>']
    with open(osp.join(REPO, path)) as f:
        calibration = json.load(f)
    chosen = calibration['chosen']
    if chosen is None:  # the selector alone is best within the budget: no cascade
        print(f"{path}: {calibration.get('advice', 'no reread setting chosen')}; the report "
              'reads without the reread cascade', flush=True)
        return []
    scales = ','.join(f'{s:g}' for s in chosen['scales'])
    return ['--cfg-options', f"model.test_cfg.reread.min_score={chosen['min_score']:g}",
            f'model.test_cfg.reread.scales=[{scales}]']


def stream_seed(cycle: int) -> str:
    """A plate stream of its own for each online cycle."""
    return f'train_dataloader.dataset.seed={cycle}'


def cycle_report(step: str, config: str, work_dir: str, t_ckpt: str, redo: bool,
                 baseline: tuple = ()) -> None:
    """Every scale of a student cycle on the test split (``WORK_DIR/report``);
    ``baseline``: the no-KD student's (checkpoint, config) of the same cycle."""
    extra = ['--baseline-ckpt', baseline[0], '--baseline-config', baseline[1]] if baseline else []
    run(step, ['tools/flops_accuracy.py', config, checkpoint_of(work_dir), '--teacher-ckpt',
               t_ckpt, '--out', f'{work_dir}/report', *extra,
               '--scales', *(f'{s:g}' for s in SCALES)],
        f'{work_dir}/report/report.json', redo)


def read_cycle(work_dir: str):
    """A trained cycle's test accuracy per method (its ``report/report.json``)
    and training minutes (``TRAIN_DONE``); ``(None, None)`` without a report."""
    path = osp.join(REPO, work_dir, 'report', 'report.json')
    if not osp.exists(path):
        print(f'missing: {path}', file=sys.stderr)
        return None, None
    with open(path) as f:
        accuracy = {m['method']: m['accuracy'] for m in json.load(f)['methods']}
    minutes = None
    if osp.exists(osp.join(REPO, work_dir, TRAIN_DONE)):
        with open(osp.join(REPO, work_dir, TRAIN_DONE)) as f:
            minutes = json.load(f).get('minutes')
    return accuracy, minutes


def cycle_table(work_dirs: list, title: str, out: str) -> str:
    """Plate accuracy per scale after each cycle, from the cycles' reports;
    printed and written to ``out``. Rows whose report is missing are left out."""
    if DRY_RUN['on']:
        print(f'\n=== the cycles\' table, into {out} [would write]', flush=True)
        return ''
    rows, baseline = [], False
    for cycle, work_dir in enumerate(work_dirs, 1):
        methods, minutes = read_cycle(work_dir)
        if methods is None:
            continue
        row = [cycle, *(f"{100 * methods[f'dld@{s:g}']:.2f}" for s in SCALES)]
        if f'nokd@{SCALES[0]:g}' in methods:
            baseline = True
            row += [f"{100 * methods[f'nokd@{s:g}']:.2f}" for s in SCALES]
        rows.append(row + ['-' if minutes is None else f'{minutes:.1f}'])
    headers = ['cycle', *(f'{s:g}x' for s in SCALES)]
    if baseline:
        headers += [f'no-KD {s:g}x' for s in SCALES]
    text = (f'{title}\n' + tabulate(rows, headers=headers + ['train min'], tablefmt='github',
                                    disable_numparse=True) + '\n')
    print('\n' + text, flush=True)
    write_text_atomic(osp.join(REPO, out), text)
    return text


def efficiency_setting(w: str, t_ckpt: str, redo: bool, analyses: bool = True) -> list:
    """Student stage, selector stage, reread calibration, report, and (with
    ``analyses``) the headroom and the gamma sweep.

    Returns the reread cascade's ``--cfg-options``."""
    student = None
    for cycle in range(1, STUDENT_CYCLES + 1):
        previous, student = student, f'{w}/dld_hr_cycle{cycle}'
        start = [f'load_from={checkpoint_of(previous)}'] if previous else []
        train(f'2/8 DLD student stage, efficiency setting (student reads down-sampled HR), '
              f'cycle {cycle} of {STUDENT_CYCLES}, plates rendered when read',
              ['tools/train.py', STUDENT_CONFIG, '--work-dir', student, '--cfg-options',
               f'model.teacher_ckpt={t_ckpt}', *start, stream_seed(cycle)], student, redo)
        cycle_report(f'2a/8 the student after cycle {cycle}: every scale on the test split',
                     STUDENT_CONFIG, student, t_ckpt, redo)
    cycle_table([f'{w}/dld_hr_cycle{c}' for c in range(1, STUDENT_CYCLES + 1)],
                'Student plate accuracy (%) on the test split per scale, after each 5-epoch '
                'student-stage cycle (efficiency setting, plates rendered when read):',
                f'{w}/cycles_hr.md')
    selector = f'{w}/dld_hr_selector'
    train('2b/8 selector stage, efficiency setting (student frozen)',
          ['tools/train.py', SELECTOR_CONFIG, '--work-dir', selector,
           '--cfg-options', f'model.teacher_ckpt={t_ckpt}',
           f'load_from={checkpoint_of(student)}'], selector, redo)
    run('2c/8 reread cascade, efficiency setting: threshold and scales on the validation '
        'split', ['tools/calibrate_reread.py', 'configs/dld_plate_hr.py',
                  checkpoint_of(selector), '--max-flops', '0.30',
                  '--json', f'{w}/reread.json'], f'{w}/reread.json', redo)
    reread = reread_options(f'{w}/reread.json')
    run('5/8 report, efficiency setting',
        ['tools/flops_accuracy.py', 'configs/dld_plate_hr.py', checkpoint_of(selector),
         '--teacher-ckpt', t_ckpt, '--out', f'{w}/report_hr', *reread],
        f'{w}/report_hr/report.json', redo)
    if not analyses:
        return reread
    run('5a/8 selector headroom, efficiency setting: every policy against the oracle',
        ['benchmarks/selector_headroom.py', 'configs/dld_plate_hr.py',
         checkpoint_of(selector), '--train-gap', '--fresh-dir',
         f'{w}/headroom_plates', '--json', f'{w}/headroom_hr.json', *reread],
        f'{w}/headroom_hr.json', redo)
    operating_points('5b/8', 'efficiency', w, redo)
    return reread


def nokd_lr_chain(w: str, t_ckpt: str, redo: bool, extra: tuple = (), tag: str = '') -> str:
    """The no-KD LR student in ``w``: 3 epochs from the teacher, then as many
    5-epoch cycles on plates rendered when read as the DLD student gets.
    ``extra`` are more ``--cfg-options`` for every run (another training seed,
    benchmarks/seed_spread.py); ``tag`` goes before each step's name.
    Returns the last run's work dir."""
    nokd = f'{w}/nokd_lr'
    train(f'{tag}3/8 no-KD student on LR (from the teacher, scale-augmented)',
          ['tools/train.py', 'configs/student_plate_lr.py', '--work-dir', nokd,
           '--cfg-options', f'load_from={t_ckpt}', *extra], nokd, redo)
    for cycle in range(1, LR_STUDENT_CYCLES + 1):
        previous, nokd = nokd, f'{w}/nokd_lr_cycle{cycle}'
        train(f'{tag}3a/8 no-KD student, cycle {cycle} of {LR_STUDENT_CYCLES} (the LR DLD '
              'student stage\'s schedule and plates)',
              ['tools/train.py', NOKD_CYCLE_CONFIG, '--work-dir', nokd,
               '--cfg-options', f'load_from={checkpoint_of(previous)}', stream_seed(cycle),
               *FIVE_EPOCH_CYCLE, *extra], nokd, redo)
    return nokd


def dld_lr_chain(w: str, t_ckpt: str, redo: bool, extra: tuple = (), tag: str = '') -> str:
    """The LR setting's DLD student in ``w``: the joint run, then its
    student-stage cycles on plates rendered when read. ``extra`` and ``tag``
    as for :func:`nokd_lr_chain`. Returns the last cycle's work dir."""
    train(f'{tag}4/8 DLD, LR-recovery setting (student reads real-LR-style frames), joint',
          ['tools/train.py', 'configs/dld_plate.py', '--work-dir', f'{w}/dld_lr',
           '--cfg-options', f'model.teacher_ckpt={t_ckpt}', *extra], f'{w}/dld_lr', redo)
    student = f'{w}/dld_lr'
    for cycle in range(1, LR_STUDENT_CYCLES + 1):
        previous, student = student, f'{w}/dld_lr_student_cycle{cycle}'
        train(f'{tag}4a/8 DLD student stage, LR-recovery setting, cycle {cycle} of '
              f'{LR_STUDENT_CYCLES} (selector frozen), plates rendered when read',
              ['tools/train.py', LR_STUDENT_CONFIG, '--work-dir', student,
               '--cfg-options', f'model.teacher_ckpt={t_ckpt}',
               f'load_from={checkpoint_of(previous)}', stream_seed(cycle), *extra],
              student, redo)
    return student


def lr_selector_stage(w: str, student: str, t_ckpt: str, redo: bool, extra: tuple = (),
                      tag: str = '') -> str:
    """The LR setting's selector stage on ``student``, in ``w``/dld_lr_selector."""
    selector = f'{w}/dld_lr_selector'
    train(f'{tag}4b/8 selector stage, LR-recovery setting (student frozen)',
          ['tools/train.py', LR_SELECTOR_CONFIG, '--work-dir', selector,
           '--cfg-options', f'model.teacher_ckpt={t_ckpt}',
           f'load_from={checkpoint_of(student)}', *extra], selector, redo)
    return selector


def lr_report(w: str, selector: str, nokd: str, t_ckpt: str, redo: bool,
              tag: str = '') -> None:
    """The LR setting's FLOPs-accuracy report, the DLD chain's selector stage
    against the no-KD chain, in ``w``/report_lr."""
    run(f'{tag}6/8 report, LR-recovery setting',
        ['tools/flops_accuracy.py', 'configs/dld_plate.py', checkpoint_of(selector),
         '--teacher-ckpt', t_ckpt, '--baseline-ckpt', checkpoint_of(nokd),
         '--baseline-config', 'configs/student_plate_lr.py', '--out', f'{w}/report_lr'],
        f'{w}/report_lr/report.json', redo)


def lr_setting(w: str, t_ckpt: str, redo: bool, analyses: bool = True) -> None:
    """The no-KD student, DLD joint run, student stage, selector stage, report,
    the paired lead and (with ``analyses``) the headroom and the gamma sweep."""
    nokd = nokd_lr_chain(w, t_ckpt, redo)
    student = dld_lr_chain(w, t_ckpt, redo)
    for cycle in range(1, LR_STUDENT_CYCLES + 1):
        cycle_report(f'4a/8 both LR students after cycle {cycle}: every scale on the test split',
                     'configs/dld_plate.py', f'{w}/dld_lr_student_cycle{cycle}', t_ckpt, redo,
                     baseline=(checkpoint_of(f'{w}/nokd_lr_cycle{cycle}'),
                               'configs/student_plate_lr.py'))
    cycle_table([f'{w}/dld_lr_student_cycle{c}' for c in range(1, LR_STUDENT_CYCLES + 1)],
                'Plate accuracy (%) on the test split per scale of the DLD student and the '
                'no-KD student after each 5-epoch cycle (LR setting, plates rendered when read; '
                'minutes: the DLD cycle):', f'{w}/cycles_lr.md')
    selector = lr_selector_stage(w, student, t_ckpt, redo)
    lr_report(w, selector, nokd, t_ckpt, redo)
    if analyses:
        run('6a/8 selector headroom, LR-recovery setting',
            ['benchmarks/selector_headroom.py', 'configs/dld_plate.py',
             checkpoint_of(selector), '--train-gap', '--fresh-dir',
             f'{w}/headroom_plates', '--json', f'{w}/headroom_lr.json'],
            f'{w}/headroom_lr.json', redo)
        operating_points('6b/8', 'lr', w, redo)
    paired_lead('6c/8 how sure the LR lead is: paired by image, interval over tracks',
                selector, nokd, f'{w}/{PAIRED_LEAD}', redo)


def paired_lead(step: str, selector: str, baseline: str, out: str, redo: bool,
                baseline_name: str = '') -> None:
    """benchmarks/paired_lead.py: the LR DLD run ``selector`` against the
    ``baseline`` run at every scale, into ``out`` (JSON)."""
    name = ['--baseline-name', baseline_name] if baseline_name else []
    run(step, ['benchmarks/paired_lead.py', 'configs/dld_plate.py', checkpoint_of(selector),
               '--baseline-ckpt', checkpoint_of(baseline), '--baseline-config',
               'configs/student_plate_lr.py', *name, '--scales', *(f'{s:g}' for s in SCALES),
               '--json', out], out, redo)


def operating_points(step: str, setting: str, w: str, redo: bool) -> None:
    """The setting's selector stage at several FLOPs penalties (gamma)."""
    run(f"{step} the {setting} setting's selector at each gamma (operating points)",
        ['benchmarks/selector_gamma_sweep.py', '--work-dir', w, '--setting', setting,
         *(['--redo'] if redo else []), *TRAIN_FLAGS],
        f'{w}/gamma_{SETTING_TAGS[setting]}.json', redo)


def lr_control(w: str, t_ckpt: str, redo: bool) -> None:
    """The LR setting's DLD chain without the teacher's losses, each cycle read
    beside the no-KD student of the same cycle (``cycles_lr_control.md``)."""
    student = f'{w}/control_lr'
    train("C/4 LR recipe control: the joint run without the teacher's losses",
          ['tools/train.py', 'configs/dld_plate.py', '--work-dir', student,
           '--cfg-options', f'model.teacher_ckpt={t_ckpt}', *NO_TEACHER_LOSSES], student, redo)
    cycles = []
    for cycle in range(1, LR_STUDENT_CYCLES + 1):
        previous, student = student, f'{w}/control_lr_cycle{cycle}'
        cycles.append(student)
        train(f'C/4 LR recipe control: student-stage cycle {cycle} of {LR_STUDENT_CYCLES} '
              "without the teacher's losses",
              ['tools/train.py', LR_STUDENT_CONFIG, '--work-dir', student,
               '--cfg-options', f'model.teacher_ckpt={t_ckpt}',
               f'load_from={checkpoint_of(previous)}', stream_seed(cycle),
               *NO_TEACHER_LOSSES], student, redo)
        cycle_report(f'C/4 LR recipe control after cycle {cycle}: every scale on the test split',
                     'configs/dld_plate.py', student, t_ckpt, redo,
                     baseline=(checkpoint_of(f'{w}/nokd_lr_cycle{cycle}'),
                               'configs/student_plate_lr.py'))
    cycle_table(cycles, 'Plate accuracy (%) on the test split per scale of the LR DLD chain '
                "without the teacher's losses and of the no-KD student after each 5-epoch "
                'cycle (the recipe control):', f'{w}/cycles_lr_control.md')
    paired_lead("C/4 LR recipe control: the teacher's share, paired by image, interval over "
                'tracks', f'{w}/dld_lr_selector', student, f'{w}/{TEACHER_SHARE}', redo,
                baseline_name='no-teacher-losses')


def dry_run_summary() -> int:
    print(f"\nDry run: {DRY_RUN['run']} step(s) would run, {DRY_RUN['resume']} resume, "
          f"{DRY_RUN['skip']} are done; nothing was run or written.", flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/results',
                        help='a relative one is in the repository, where the tools run')
    parser.add_argument('--redo', action='store_true', help='rerun steps already done')
    parser.add_argument('--setting', choices=SETTINGS, default='all',
                        help="one setting's steps only (after the teacher), to run the two "
                        'side by side; "all" also times the costs and checks the targets; '
                        '"lr-control": the LR chain without the teacher\'s losses (after '
                        '"lr")')
    add_amp_argument(parser)
    parser.add_argument('--skip-analyses', action='store_true',
                        help='leave out the selector headroom and the gamma sweeps')
    parser.add_argument('--dry-run', action='store_true',
                        help='print each step and whether it would run, resume or be '
                        'skipped; run and write nothing')
    args = parser.parse_args(argv)
    w, redo = args.work_dir, args.redo
    use_amp(args.amp)
    DRY_RUN.update(on=args.dry_run, run=0, resume=0, skip=0)
    if osp.exists(osp.join(REPO, w)) and not osp.isdir(osp.join(REPO, w)):
        parser.error(f'--work-dir {w} is a file; give a folder')
    if args.setting == 'lr-control':  # before the teacher: hours before the first read
        try:
            require_runs(w, LR_CONTROL_READS, 'full_schedule.py --setting lr-control')
        except SystemExit as err:
            if not args.dry_run:
                raise
            print(f'{err}\n(a real run would stop here; the dry run goes on)', flush=True)
    analyses = not args.skip_analyses
    if not args.dry_run:
        os.makedirs(osp.join(REPO, w), exist_ok=True)
    start = time.time()
    t_ckpt = hr_teacher(w, redo)
    if args.setting in ('all', 'efficiency'):
        reread = efficiency_setting(w, t_ckpt, redo, analyses)
    if args.setting in ('all', 'lr'):
        lr_setting(w, t_ckpt, redo, analyses)
    if args.setting == 'lr-control':
        lr_control(w, t_ckpt, redo)
    if args.setting != 'all':
        if args.dry_run:
            return dry_run_summary()
        print(f'\nThe {args.setting} setting done in {(time.time() - start) / 60:.1f} min.',
              flush=True)
        return 0
    run('7/8 training step cost (DLD sampled vs student-only)',
        ['benchmarks/training_step_cost.py', 'configs/dld_plate.py', '--teacher-ckpt', t_ckpt,
         '--json', f'{w}/step_cost.json'], f'{w}/step_cost.json', redo)
    run('8/8 inference throughput per scale (batch 64)',
        ['benchmarks/inference_throughput.py', 'configs/dld_plate_hr.py',
         checkpoint_of(f'{w}/dld_hr_selector'), '--json', f'{w}/throughput.json', *reread],
        f'{w}/throughput.json', redo)
    if args.dry_run:
        dry_run('then the targets\' figures', ['benchmarks/check_targets.py', w])
        return dry_run_summary()
    print(f'\nAll steps done in {(time.time() - start) / 60:.1f} min.\n', flush=True)
    run_tool('the targets\' figures', ['benchmarks/check_targets.py', w])
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'full_schedule.py', again=GO_ON))
