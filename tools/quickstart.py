"""Synthetic plates -> HR teacher -> DLD -> FLOPs/accuracy report -> inference.

    python tools/quickstart.py [--work-dir work_dirs/quickstart]

A short schedule (configs/quickstart/) that runs on a laptop CPU; the full
schedule is configs/teacher_plate_hr.py and configs/dld_plate.py. Each step
is one of the ordinary tools, run as a subprocess and printed, so the
quickstart shows the commands a user would type.
"""
import argparse
import glob
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(step: str, cmd: list) -> float:
    print(f'\n=== {step}\n$ {" ".join(cmd)}', flush=True)
    start = time.time()
    subprocess.run([sys.executable, *cmd], cwd=REPO, check=True)
    took = time.time() - start
    print(f'=== {step}: done in {took / 60:.1f} min', flush=True)
    return took


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    args = parser.parse_args(argv)
    work = args.work_dir
    teacher_dir, dld_dir = f'{work}/teacher', f'{work}/dld'
    start = time.time()
    run('1/5 HR teacher (generates data/synth_plates_quick/ first)',
        ['tools/train.py', 'configs/quickstart/teacher.py', '--work-dir', teacher_dir])
    run('2/5 DLD student + selector',
        ['tools/train.py', 'configs/quickstart/dld.py', '--work-dir', dld_dir,
         '--cfg-options', f'model.teacher_ckpt={teacher_dir}'])
    with open(osp.join(REPO, dld_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    student = osp.join(work, 'student.pth')
    run('3/5 keep student + selector', ['tools/extract_student.py', ckpt, student])
    report = osp.join(work, 'report')
    run('4/5 FLOPs-versus-accuracy report',
        ['tools/flops_accuracy.py', 'configs/quickstart/dld.py', ckpt, '--teacher-ckpt',
         osp.join(teacher_dir, 'best.pth'), '--out', report])
    images = sorted(glob.glob(osp.join(REPO, 'data/synth_plates_quick/test/*/lr-001.png')))[:8]
    run('5/5 inference with per-image scale selection',
        ['tools/infer.py', 'configs/quickstart/dld.py', student, *images,
         '--out', osp.join(work, 'predictions.jsonl'), '--vis', osp.join(work, 'vis')])
    print(f'\nAll done in {(time.time() - start) / 60:.1f} min. Outputs:\n'
          f'  teacher:      {teacher_dir}/best.pth\n'
          f'  DLD:          {ckpt}\n'
          f'  student only: {student}\n'
          f'  report:       {report}/report.md (+ .csv, .json, pareto.png, scales.png)\n'
          f'  predictions:  {work}/predictions.jsonl, drawings in {work}/vis/')
    return 0


if __name__ == '__main__':
    sys.exit(main())
