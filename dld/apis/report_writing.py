"""Writing the FLOPs/accuracy report: ``report.{md,csv,json}``, ``pareto.png``, ``scales.png``."""
import csv
from typing import List, Optional

CSV_COLUMNS = ('method', 'name', 'scale', 'accuracy', 'char_accuracy', 'track_accuracy',
               'gflops', 'gflops_saved_pct', 'params', 'images_per_s', 'num_images',
               'one_minus_ned', 'accuracy_low', 'accuracy_high')


def write_report(report: dict, out_dir: str) -> dict:
    """Write every file of the report into ``out_dir``; returns their paths.

    The five files are written together, ``report.json`` last
    (:func:`~dld.utils.atomic_file.write_files_together`): a failure
    part-way (a plot that cannot be drawn, a full disk) leaves the previous
    report whole rather than a mix of new and old files, and a
    ``report.json`` that exists means the other files are there too.
    """
    from dld.evaluation.per_image import report_json_text
    from dld.utils.atomic_file import text_writer, write_files_together

    def table(path: str) -> None:
        with open(path, 'w', encoding='utf-8', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction='ignore')
            writer.writeheader()
            for row in report['methods']:
                writer.writerow({k: '' if row.get(k) is None else row[k] for k in CSV_COLUMNS})

    return write_files_together(out_dir, {
        'report.csv': table, 'report.md': text_writer(markdown_report(report)),
        'pareto.png': lambda path: plot_pareto(report, path),
        'scales.png': lambda path: plot_scales(report, path),
        'report.json': text_writer(report_json_text(report))})


def _fmt(value, spec: str, none: str = '-') -> str:
    return none if value is None else format(value, spec)


#: The scale column of the rows that read no one scale.
SCALE_LABELS = {'dld_selector': 'chosen', 'dld_reread': 'chosen + reread', 'oracle': 'oracle',
                'oracle_matched': 'oracle', 'oracle_matched_reread': 'oracle'}


def is_external(method: str) -> bool:
    """Whether a row is another method's figures, not run by the report
    (:func:`dld.apis.external_predictions.add_external_rows`)."""
    return method.startswith('external:')


def scale_label(method: str, scale: Optional[float]) -> str:
    """A row's scale as the tables show it: the number, or how it was chosen."""
    if is_external(method):  # another method's figures (external_predictions)
        return 'external'
    return SCALE_LABELS.get(method) or _fmt(scale, 'g')


def plate_metric_name(report: dict) -> str:
    """What the report calls its plate accuracy (a renamed metric's prefix)."""
    return (report.get('metric_prefixes') or {}).get('plate', 'plate')


def _accuracy_note(names: dict, has_ned: bool, has_track: bool) -> str:
    """What the report's accuracy columns count (it said only how FLOPs are)."""
    note = (f"* {names['plate']} acc.: the share of test images whose text is read whole "
            'and right; char acc.: the characters right at their position, over the longer '
            'of the two texts (a missing or extra character counts as wrong)')
    if has_ned:
        note += '; 1-NED: one minus the edit distance over the longer text, averaged per image'
    if has_track:
        note += (f"; {names['track']} acc.: the share of tracks whose frames' readings vote "
                 'the right text')
    return note + '.'


#: How report.md's interval column is made (dld.evaluation.accuracy_interval).
INTERVAL_NOTE = (
    "* 95% interval: of the plate accuracy, over the test images (how far another test set "
    "drawn alike could move it; not the training run's spread: "
    "tools/analysis/compare_reports.py over seeds). Wilson's score interval with the images "
    "counted by their effective number: the frames of one track are read alike, so a "
    "track's frames count as fewer independent images, as many fewer as the tracks' spread "
    "shows (the design effect; each track counted once where every image is read right, or "
    "none). Two rows of one report read the same images: a difference between them is "
    "surer than their two intervals say (benchmarks/paired_lead.py, "
    "tools/analysis/analyze_readings.py A B).")


def _interval(row: dict) -> str:
    if row.get('accuracy_low') is None or row.get('accuracy_high') is None:
        return '-'
    return f"{100 * row['accuracy_low']:.1f}-{100 * row['accuracy_high']:.1f}"


def markdown_report(report: dict) -> str:
    from tabulate import tabulate
    has_track = any(r.get('track_accuracy') is not None for r in report['methods'])
    has_ned = any(r.get('one_minus_ned') is not None for r in report['methods'])
    names = {'plate': 'plate', 'track': 'track', **(report.get('metric_prefixes') or {})}
    has_interval = any(r.get('accuracy_low') is not None for r in report['methods'])
    headers = ['method', 'scale', f"{names['plate']} acc. (%)"]
    headers += ['95% interval'] if has_interval else []
    headers += ['char acc. (%)']
    headers += ['1-NED (%)'] if has_ned else []
    headers += [f"{names['track']} acc. (%)"] if has_track else []
    headers += ['GFLOPs / image', 'saved vs teacher HR (%)', 'params (M)', 'images/s']
    rows = []
    for r in report['methods']:
        row = [r['name'], scale_label(r['method'], r['scale']), _fmt(_pct(r['accuracy']), '.2f')]
        row += [_interval(r)] if has_interval else []
        row += [_fmt(_pct(r['char_accuracy']), '.2f')]
        row += [_fmt(_pct(r.get('one_minus_ned')), '.2f')] if has_ned else []
        row += [_fmt(_pct(r.get('track_accuracy')), '.2f')] if has_track else []
        row += [_fmt(r['gflops'], '.4f'), _fmt(r['gflops_saved_pct'], '.1f'),
                _fmt(None if r.get('params') is None else r['params'] / 1e6, '.3f'),
                _fmt(r.get('images_per_s'), '.0f')]
        rows.append(row)
    scale_rows = [[_fmt(s['scale'], 'g'), f"{s['input_size'][0]}x{s['input_size'][1]}",
                   _fmt(s['student_gflops'], '.4f'), _fmt(s['with_selector_gflops'], '.4f')]
                  for s in report['per_scale']]
    params = report['params']
    lines = [
        '# FLOPs / accuracy report', '',
        f"{report['num_images']} test images; device: {report['device']}"
        f"{_precision_note(report)}; "
        f"base input {report['base_size'][0]}x{report['base_size'][1]}.", '',
        tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True), '',
        '![accuracy against FLOPs](pareto.png)', '',
        '## Cost of each scale', '',
        tabulate(scale_rows, headers=['scale', 'input (HxW)', 'student GFLOPs',
                                      'student + selector GFLOPs'],
                 tablefmt='github', disable_numparse=True), '',
        f"Teacher: {report['teacher_gflops']:.4f} GFLOPs at full resolution; selector: "
        f"{report['selector_gflops']:.5f} GFLOPs. Parameters: teacher "
        f"{params['teacher'] / 1e6:.3f} M, student {params['student'] / 1e6:.3f} M, "
        f"selector {params['selector'] / 1e6:.4f} M"
        + (f", {_baseline_name(report)} {params['baseline'] / 1e6:.3f} M."
           if params.get('baseline') else '.'), '',
        '![chosen scales](scales.png)', '',
    ]
    lines += _groups_markdown(report, names)
    if report.get('selector_choices'):
        from .selector_choices import choices_markdown
        lines += choices_markdown(report['selector_choices'])
    lines += [
        '## How these numbers are made', '',
        _accuracy_note(names, has_ned, has_track),
    ]
    if has_interval:
        lines.append(INTERVAL_NOTE)
    lines += [
        f"* {report['convention']}",
        '* GFLOPs / image is the mean over the test images of the forward cost at the input '
        'size each image was read at; DLD + selector includes the selector, which runs on '
        'every image. The oracle counts no selector: it is the limit any selector over these '
        'scales can reach, the most plates at the fewest FLOPs (per image, the smallest scale '
        "at which the student is right, else the smallest). The oracle at the selector's "
        "accuracy is the cheapest per-image choice that reads as many plates as the selector "
        "(more, where the smallest scale alone reads more): the selector's FLOPs are judged "
        'against it. DLD + selector + reread (when the config sets `test_cfg.reread`) '
        'counts the selector and every read of an image; its scale histogram counts the '
        'scale of the kept reading.',
        '* images/s: wall-clock throughput of `predict` on the device above (data loading '
        'and normalisation excluded), after one untimed warm-up batch. It depends on the '
        'device and batch size; FLOPs do not.',
        '* ' + _same_images_note(report),
    ]
    if report.get('decoding'):
        lines.append('* ' + _decoding_note(report['decoding'], _baseline_name(report)))
    options = (report.get('inputs') or {}).get('cfg_options')
    if options:  # the reread cascade, say: what the figures were read with
        lines.append('* Config overrides (`--cfg-options`): ' + ' '.join(
            f'`{k}={v}`' for k, v in options.items()))
    if report.get('uncounted_ops'):
        ops = ', '.join(report['uncounted_ops'])
        lines.append(f'* **Uncounted:** no FLOP count for {ops}, which count as 0'
                     ': the GFLOPs of the rows that run them are lower bounds '
                     '(a handle in dld.utils.flops.EXTRA_FLOP_HANDLES counts them: '
                     'docs/customize.md, "FLOPs of your modules").')
    lines += _provenance(report)
    if report.get('notes'):
        lines += ['', '## Notes', ''] + [f'* {n}' for n in report['notes']]
    return '\n'.join(lines) + '\n'


def _groups_markdown(report: dict, names: dict, cost: str = 'cost') -> list:
    """Each group's figures (the test_evaluator's ``group_by``: each set of a
    concatenation, two cameras say, or each folder), where the metrics hold
    them: report.json had them under each method's ``metrics``, report.md
    none (one accuracy over two cameras hid the camera read badly)."""
    from tabulate import tabulate
    head = f"{names['plate']}/accuracy/"
    groups = sorted({k[len(head):] for r in report['methods']
                     for k in (r.get('metrics') or {}) if k.startswith(head)})
    if not groups:
        return []
    has_track = any(f"{names['track']}/accuracy/{g}" in (r.get('metrics') or {})
                    for r in report['methods'] for g in groups)
    headers, rows = ['method'], []
    for g in groups:
        headers += [f"{g}: {names['plate']} acc. (%)"]
        headers += [f"{g}: {names['track']} acc. (%)"] if has_track else []
        headers += [f'{g}: GFLOPs / image']
    for r in report['methods']:
        m = r.get('metrics') or {}
        if not any(f'{head}{g}' in m for g in groups):
            continue  # the oracle rows: scored over the whole set only
        row = [r['name']]
        for g in groups:
            row += [_fmt(_pct(m.get(f'{head}{g}')), '.2f')]
            row += [_fmt(_pct(m.get(f"{names['track']}/accuracy/{g}")), '.2f')] \
                if has_track else []
            # a fixed scale costs every image alike: the row's own figure
            row += [_fmt(m.get(f'{cost}/gflops/{g}', None if r.get('scale') is None
                                 else r.get('gflops')), '.4f')]
        rows.append(row)
    lines = ['## Each group of the test set', '',
             tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True), '']
    shares, scales = [], []  # the selector's per group: a camera's crops at their own scales
    for r in report['methods']:
        m = r.get('metrics') or {}
        for g in groups:
            kept = {k[len(f'{cost}/share_'):-len(g) - 1]: v for k, v in m.items()
                    if k.startswith(f'{cost}/share_') and k.endswith(f'/{g}')}
            if kept:
                scales = scales or list(kept)
                shares.append([r['name'], g, _fmt(m.get(f'{cost}/mean_scale/{g}'), '.2f')]
                              + [_fmt(_pct(kept.get(s)), '.1f') for s in scales])
    if shares:
        lines += ['Scales chosen in each group (share of its images, %):', '',
                  tabulate(shares, headers=['method', 'group', 'mean scale']
                           + [f'{s}x' for s in scales],
                           tablefmt='github', disable_numparse=True), '']
    return lines


def console_report(report: dict) -> str:
    """The report's main table for a console, within 100 columns: the
    plate and track accuracy, the FLOPs and the throughput of each row
    (``report.md`` was 213 columns wide there). The character accuracy,
    1-NED and parameter counts are in the files; a row's ``(scales ...
    only)`` is a footnote."""
    import re

    from tabulate import tabulate
    names = {'plate': 'plate', 'track': 'track', **(report.get('metric_prefixes') or {})}
    has_track = any(r.get('track_accuracy') is not None for r in report['methods'])
    headers = ['method', 'scale', f"{names['plate']} %"]
    headers += [f"{names['track']} %"] if has_track else []
    headers += ['GFLOPs', 'saved %', 'img/s']
    rows, footnotes = [], []
    for r in report['methods']:
        name = r['name']
        only = re.search(r' \((scales .* only)\)$', name)
        if only:
            footnotes = footnotes or [only.group(1)]
            name = name[:only.start()] + '*'
        # 'chosen + reread' widened the column past 100: the name says '+ reread'
        scale = 'chosen' if r['method'] == 'dld_reread' else scale_label(r['method'], r['scale'])
        row = [name, scale, _fmt(_pct(r['accuracy']), '.2f')]
        row += [_fmt(_pct(r.get('track_accuracy')), '.2f')] if has_track else []
        row += [_fmt(r['gflops'], '.4f'), _fmt(r['gflops_saved_pct'], '.1f'),
                _fmt(r['images_per_s'], '.0f')]
        rows.append(row)
    import tabulate as tabulate_module
    padding, tabulate_module.MIN_PADDING = tabulate_module.MIN_PADDING, 0  # no 2 spaces more
    try:
        table = tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True)
    finally:
        tabulate_module.MIN_PADDING = padding
    lines = [f"{report['num_images']} test images; device: {report['device']}"
             f"{_precision_note(report)}; "
             f"base input {report['base_size'][0]}x{report['base_size'][1]}.", '', table]
    lines += [f'* {footnotes[0]}'] if footnotes else []
    lines += ['', 'saved %: GFLOPs saved against the teacher on HR. Char accuracy, 1-NED, '
              'parameters,', 'the cost of each scale and the notes: report.md (and .csv, .json).']
    return '\n'.join(lines)


def _provenance(report: dict) -> list:
    """Which config, checkpoints and test set the figures are of, and the
    run's code and libraries: report.md said none of it (report.json had
    the paths only)."""
    inputs, env = report.get('inputs') or {}, report.get('environment') or {}
    named = [('config', 'config'), ('checkpoint', 'checkpoint'),
             ('teacher checkpoint', 'teacher_checkpoint'),
             ('baseline checkpoint', 'baseline_checkpoint'),
             ('baseline config', 'baseline_config'),
             ('test set', 'test_ann_file')]
    lines = [f'* {what}: `{inputs[key]}`' + (
        f" (below `{inputs['test_data_root']}`)" if key == 'test_ann_file'
        and inputs.get('test_data_root') else '')
        for what, key in named if inputs.get(key)]
    sets = inputs.get('test_sets') or []
    if len(sets) > 1:  # a concatenation: no one test_ann_file names it
        lines += [f"* test set {i}: `{s.get('ann_file') or s.get('data_root')}`" + (
            f" (below `{s['data_root']}`)" if s.get('ann_file') and s.get('data_root') else '')
            for i, s in enumerate(sets, 1)]
    if env:
        commit = f", commit {env['commit']}" if env.get('commit') else ''
        lines.append(f"* made {env.get('created')} by DLD {env.get('dld')}{commit}, torch "
                     f"{env.get('torch')}, Python {env.get('python')}"
                     + ''.join(f', {name} {env[key]}' for name, key in (
                         ('MMEngine', 'mmengine'), ('NumPy', 'numpy'), ('OpenCV', 'opencv'))
                         if env.get(key))
                     + f", {env.get('threads')} "
                     f"thread(s) on {env.get('processor')}")
    return ['', '## Inputs', ''] + lines if lines else []


def _baseline_name(report: dict) -> str:
    """The baseline's name in the text, as in its rows (``--baseline-name``)."""
    return report.get('baseline_name') or 'No-KD student'


def _decoding_note(decoding: dict, baseline: str = 'No-KD student') -> str:
    """How each model decoded, which its FLOPs count."""
    names = dict(student='DLD student', teacher='teacher', baseline=baseline)
    return 'Decoding (counted in the FLOPs): ' + '; '.join(
        f'{names.get(k, k)} {v}' for k, v in decoding.items() if v) + '.'


def _same_images_note(report: dict) -> str:
    """Which rows read the same test images; the Teacher-on-HR row may read
    fewer (tracks without HR frames, see the notes)."""
    fewer = [r['name'] for r in report['methods'] if not is_external(r['method'])
             and r.get('num_images') is not None and r['num_images'] != report['num_images']]
    if not fewer:
        return 'All methods read the same test images, loaded once.'
    return (f"All methods but {', '.join(fewer)} read the same {report['num_images']} test "
            'images, loaded once; see the notes for the images the others read.')


def _pct(value: Optional[float]) -> Optional[float]:
    return None if value is None else 100.0 * value


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_pareto(report: dict, path: str) -> None:
    """Plate accuracy (left) and character accuracy (right) against mean GFLOPs:
    one curve per fixed-scale family, one point per other method.

    The character panel stays informative early in training, when few whole
    plates are read right yet.
    """
    plt = _plt()
    from matplotlib.ticker import MaxNLocator
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), dpi=120)
    plate = plate_metric_name(report)
    for ax, key, label in ((axes[0], 'accuracy', f'{plate} accuracy (%)'),
                           (axes[1], 'char_accuracy', 'character accuracy (%)')):
        top = _pareto_panel(ax, report['methods'], key)
        ax.set_ylim(-1, max(5.0, 1.08 * top))
        ax.margins(x=0.08)  # room for the scale labels at either end
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.set_xlabel('mean GFLOPs per image (1 multiply-add = 1 flop)')
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    # Below the panels, where it covers no point; every row drawn in either
    # panel (a row without plate accuracy is drawn on the right only), once.
    legend = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    handles, labels = list(legend.values()), list(legend)
    rows = -(-len(handles) // 3)
    fig.legend(handles, labels, fontsize=8, loc='lower center', ncol=3, frameon=False)
    fig.suptitle(f"Accuracy vs. cost ({report['num_images']} test images)")
    fig.tight_layout(rect=(0, 0.045 * rows + 0.01, 1, 1))
    fig.savefig(path, format='png')  # path may be a temporary name
    plt.close(fig)


def _pareto_panel(ax, rows: List[dict], key: str) -> float:
    """Draw one panel; returns the largest value drawn (%)."""
    top = 0.0
    labels = {}  # (GFLOPs, scale) -> [(y, colour)]: one label per point of the x axis
    for prefix, style in (('nokd@', 'o--'), ('dld@', 's-')):
        fam = sorted((r for r in rows if r['method'].startswith(prefix)
                      and r.get(key) is not None), key=lambda r: r['gflops'])
        if not fam:
            continue
        # The rows' own name ('No-KD student @0.8', or the baseline's name).
        label = f"{fam[0]['name'].rsplit(' @', 1)[0]} (fixed scales)"
        xs = [r['gflops'] for r in fam]
        ys = [100 * r[key] for r in fam]
        top = max([top] + ys)
        # Above the single points: the teacher's star sits on the 1.0x point.
        (line, ) = ax.plot(xs, ys, style, label=label, alpha=0.85, zorder=4)
        for r, x, y in zip(fam, xs, ys):
            labels.setdefault((x, r['scale']), []).append((y, line.get_color()))
    # Both families read a scale at the same FLOPs (the same architecture):
    # one label, above the higher point, rather than two drawn over each other.
    for (x, scale), marks in labels.items():
        y, colour = max(marks, key=lambda m: m[0])
        ax.annotate(f'{scale:g}', (x, y), textcoords='offset points', xytext=(3, 4),
                    fontsize=7, color=colour if len(marks) == 1 else '0.25')
    points = dict(teacher_hr=('Teacher on HR', 'k*', 12), teacher_lr=('Teacher on LR', 'kv', 8),
                  dld_selector=('DLD + selector', 'r*', 14),
                  dld_reread=('DLD + selector + reread', 'mP', 11),
                  oracle=('Oracle selector', 'gD', 8),
                  oracle_matched=("Oracle at the selector's accuracy", 'gs', 7),
                  oracle_matched_reread=("Oracle at the reread's accuracy", 'gx', 8))
    for r in rows:
        if r['method'] in points and r.get(key) is not None:
            label, style, size = points[r['method']]
            # the row's own name: an oracle of fewer scales says "(scales ... only)"
            ax.plot([r['gflops']], [100 * r[key]], style, markersize=size,
                    label=r.get('name') or label, zorder=3, alpha=0.9)
            top = max(top, 100 * r[key])
    # other methods' figures (external_predictions): hollow, apart from DLD's own
    # (each its own marker and colour, the same in both panels)
    external = [r for r in rows if is_external(r['method'])]
    for i, r in enumerate(external):
        if r.get(key) is not None and r.get('gflops') is not None:
            ax.plot([r['gflops']], [100 * r[key]], 'XPhd^<>p8'[i % 9], markersize=10,
                    label=r['name'], color=f'C{4 + i % 6}', markerfacecolor='none',
                    markeredgewidth=1.6, zorder=3)
            top = max(top, 100 * r[key])
    return top


def plot_scales(report: dict, path: str) -> None:
    """How often each scale was chosen: by the selector and by the oracle."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    hist = report.get('scale_histogram', {})
    series = [(k, v) for k, v in (('dld_selector', 'selector'),
                                  ('dld_reread', 'selector + reread (kept reading)'),
                                  ('oracle', 'oracle')) if k in hist]
    # Every scale evaluated, and every scale chosen (a selector may choose
    # candidates that --scales left out).
    values = {float(s) for s in report['scales']}
    values |= {float(s) for key, _ in series for s in hist[key]}
    scales: List[str] = [f'{s:g}' for s in sorted(values)]
    width = 0.8 / max(len(series), 1)
    for i, (key, label) in enumerate(series):
        counts = [hist[key].get(s, 0) for s in scales]
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(scales))]
        ax.bar(xs, counts, width=width, label=label)
    ax.set_xticks(range(len(scales)))
    ax.set_xticklabels(scales)
    ax.set_xlabel('input scale (of the base size)')
    ax.set_ylabel('images')
    ax.set_title('Chosen scales')
    if series:
        # Headroom above the bars for the legend, so it covers none of them.
        ax.set_ylim(0, 1.22 * max(max(hist[key].values(), default=0) for key, _ in series) + 1)
        ax.legend(fontsize=8, loc='upper center', ncol=len(series))
    ax.grid(True, axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format='png')  # path may be a temporary name
    plt.close(fig)


def _precision_note(report: dict) -> str:
    """`` in bfloat16`` for a mixed-precision report; float32 (and reports of
    older revisions, which have no precision) say nothing."""
    precision = report.get('precision', 'float32')
    return '' if precision == 'float32' else f' in {precision}'
