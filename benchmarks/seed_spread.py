"""The LR chains again with another training seed: how far the lead moves.

    python benchmarks/seed_spread.py [--work-dir work_dirs/results] [--seed 1]
        [--chains nokd dld] [--redo]

``benchmarks/paired_lead.py``'s interval covers the test split's sampling,
not the training run's: two runs of one recipe differ too. After
``benchmarks/full_schedule.py --setting lr``, this trains the LR setting's
no-KD chain and/or its DLD chain (joint run, student-stage cycles, selector
stage) again with the schedule's own commands plus ``randomness.seed=SEED``
(same teacher, plate streams and schedule), in ``WORK_DIR/seed<SEED>/``;
the teacher is trained first where ``WORK_DIR`` has none. Then it reads
every DLD chain against every no-KD chain on disk, the published ones, those
of earlier ``--seed`` runs (``WORK_DIR/seed<N>/``) and the new ones, with
``paired_lead.py``, and prints the lead per scale, one row per pair, then its
mean and range over the pairs of one seed (``WORK_DIR/seed<SEED>/leads.md``).
With both chains, it also writes their FLOPs-accuracy report
(``WORK_DIR/seed<SEED>/report_lr``), which ``check_targets.py WORK_DIR``
reads beside the published one. Steps already done are skipped.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
from typing import Dict, Tuple

from tabulate import tabulate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's dld
import check_targets  # noqa: E402
import full_schedule as schedule  # noqa: E402
from numeric_options import at_least  # noqa: E402

from benchmarks.script_exit import Refusal, run_script  # noqa: E402
from dld.utils.atomic_file import write_text_atomic  # noqa: E402

CHAINS = ('nokd', 'dld')


def lead_table(leads: Dict[str, dict]) -> str:
    """One row per (DLD chain, no-KD chain) pair: the lead at each scale with
    its paired interval."""
    scales = [r['scale'] for r in next(iter(leads.values()))['rows']]
    rows = []
    for pair, lead in leads.items():
        by_scale = {r['scale']: r for r in lead['rows']}
        rows.append([pair] + [
            f"{by_scale[s]['lead']:+.2f} [{by_scale[s]['low']:+.2f}, {by_scale[s]['high']:+.2f}]"
            for s in scales])
    return tabulate(rows, headers=['DLD vs no-KD'] + [f'{s:g}x' for s in scales],
                    tablefmt='github', disable_numparse=True)


def spread_table(leads: Dict[Tuple[str, str], dict]) -> str:
    """The lead's mean and range at each scale, over the pairs trained with
    one seed (each recipe's own run) and over every pairing."""
    scales = [r['scale'] for r in next(iter(leads.values()))['rows']]
    same_seed = [lead for (d, n), lead in leads.items() if d == n]
    groups = [(f'one seed ({len(same_seed)} pair(s))', same_seed)] if same_seed else []
    if len(leads) > len(same_seed):
        groups.append((f'any pairing ({len(leads)} pairs)', list(leads.values())))
    rows = []
    for label, group in groups:
        cells = []
        for s in scales:
            values = [next(r['lead'] for r in g['rows'] if r['scale'] == s) for g in group]
            cells.append(f'{statistics.mean(values):+.2f} ({min(values):+.2f} to '
                         f'{max(values):+.2f})')
        rows.append([label] + cells)
    return tabulate(rows, headers=['pairs: mean (range)'] + [f'{s:g}x' for s in scales],
                    tablefmt='github', disable_numparse=True)


def _seed_of(name: str) -> int:
    """The training seed in a chain's name; the published chains come first."""
    return -1 if name == 'published' else int(name.split()[-1])


def pair_json(work_dir: str, dld: str, nokd: str) -> str:
    """Where the lead of one pair is kept: the published pair beside the
    published chains, any other pair in the folder of its newest seed."""
    if dld == nokd == 'published':
        return f'{work_dir}/{schedule.PAIRED_LEAD}'
    seed = max(_seed_of(dld), _seed_of(nokd))
    return (f"{work_dir}/seed{seed}/paired_dld_{dld.replace(' ', '')}_nokd_"
            f"{nokd.replace(' ', '')}.json")


def _existing(name: str, work_dir: str, missing: list) -> Dict[str, str]:
    """``{name: work_dir}`` if that run finished, else ``{}`` (and a note
    in ``missing``, said once the run is known to go on)."""
    if schedule.is_trained(work_dir):
        return {name: work_dir}
    missing.append(f'=== no {name} chain in {work_dir}: the new chains are read without it')
    return {}


def require_partners(w: str, chains: list, nokd: Dict[str, str], dld: Dict[str, str]) -> None:
    """Stop before any training when the chains asked for have no chain of
    the other kind on disk to be read against (``nokd``, ``dld``: those found),
    naming the published one and what trains it."""
    last = {'nokd': f'nokd_lr_cycle{schedule.LR_STUDENT_CYCLES}', 'dld': 'dld_lr_selector'}
    for kind, found in (('nokd', nokd), ('dld', dld)):
        if kind not in chains and not found:
            raise Refusal(
                f"--chains {' '.join(chains)}: no {'no-KD' if kind == 'nokd' else 'DLD'} "
                f'chain is trained in {w} to read the new chain against (the published '
                f'one, {w}/{last[kind]}: {schedule.made_by(w, last[kind])}; or one of an '
                f'earlier --seed). Train it first, or both here: --chains nokd dld')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/results',
                        help="the full schedule's work dir (the published chains); a relative "
                        'one is in the repository, where the tools run')
    parser.add_argument('--seed', type=at_least(0), default=1,
                        help='the training seed of the new chains')
    parser.add_argument('--chains', nargs='+', choices=CHAINS, default=list(CHAINS),
                        help='which chains to train again')
    parser.add_argument('--redo', action='store_true', help='rerun steps already done')
    schedule.add_amp_argument(parser)
    args = parser.parse_args(argv)
    schedule.use_amp(args.amp)
    w, redo = args.work_dir, args.redo
    seeded = f'{w}/seed{args.seed}'
    extra, tag = (f'randomness.seed={args.seed}', ), f'seed {args.seed}: '
    # The published chains and those of earlier seeds are read only where
    # they are on disk: on a new machine the new chains are still read
    # against each other.
    cycles, missing = schedule.LR_STUDENT_CYCLES, []
    nokd = _existing('published', f'{w}/nokd_lr_cycle{cycles}', missing)
    dld = _existing('published', f'{w}/dld_lr_selector', missing)
    for earlier in check_targets.training_seeds(osp.join(schedule.REPO, w)):
        if earlier == args.seed:
            continue
        nokd.update(_existing(f'seed {earlier}', f'{w}/seed{earlier}/nokd_lr_cycle{cycles}',
                              missing))
        dld.update(_existing(f'seed {earlier}', f'{w}/seed{earlier}/dld_lr_selector', missing))
    require_partners(w, args.chains, nokd, dld)  # before saying it goes on without them
    for note in missing:
        print(note, flush=True)
    t_ckpt = schedule.hr_teacher(w, redo)
    if 'nokd' in args.chains:
        nokd[f'seed {args.seed}'] = schedule.nokd_lr_chain(seeded, t_ckpt, redo, extra, tag)
    if 'dld' in args.chains:
        student = schedule.dld_lr_chain(seeded, t_ckpt, redo, extra, tag)
        dld[f'seed {args.seed}'] = schedule.lr_selector_stage(seeded, student, t_ckpt, redo,
                                                              extra, tag)
    new = f'seed {args.seed}'
    if new in dld and new in nokd:  # the seed's own report, for check_targets.py
        schedule.lr_report(seeded, dld[new], nokd[new], t_ckpt, redo, tag)
    leads: Dict[Tuple[str, str], dict] = {}
    for dld_name, selector in dld.items():
        for nokd_name, baseline in nokd.items():
            out = pair_json(w, dld_name, nokd_name)
            schedule.paired_lead(f'lead of DLD ({dld_name}) over no-KD ({nokd_name})',
                                 selector, baseline, out, redo)
            with open(osp.join(schedule.REPO, out)) as f:
                leads[dld_name, nokd_name] = json.load(f)
    table = lead_table({f'{d} vs {n}': lead for (d, n), lead in leads.items()})
    table += '\n\n' + spread_table(leads)
    names = sorted(set(dld) | set(nokd), key=_seed_of)
    chains = ' and '.join(filter(None, [', '.join(names[:-1]), names[-1]]))
    title = (f'Lead (pt) of the LR DLD student over the no-KD student per fixed scale, '
             f'95 % interval paired over test tracks; chains read: {chains}:')
    os.makedirs(osp.join(schedule.REPO, seeded), exist_ok=True)
    write_text_atomic(osp.join(schedule.REPO, seeded, 'leads.md'), f'{title}\n{table}\n')
    print(f'\n{title}\n{table}')
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'seed_spread.py', again=schedule.GO_ON))
