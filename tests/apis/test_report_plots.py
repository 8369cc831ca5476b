"""What ``pareto.png`` and ``scales.png`` draw: the table's points, labelled once each."""
import matplotlib
import pytest

from dld.apis import report_writing

matplotlib.use('Agg')

SCALES = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)
GFLOPS = {1.0: 0.0798, 0.8: 0.0525, 0.6: 0.0316, 0.5: 0.0206, 0.4: 0.0152, 0.3: 0.0081}


def _row(method, name, scale, acc, char, gflops):
    return dict(method=method, name=name, scale=scale, accuracy=acc, char_accuracy=char,
                track_accuracy=None, gflops=gflops)


def _report():
    """Many rows, as a report with --scales and a reread cascade has: two
    fixed-scale families at the same FLOPs, the low scales near 0 %."""
    only = ' (scales 1, 0.8, 0.6, 0.5, 0.4, 0.3 only)'
    nokd = dict(zip(SCALES, (0.32, 0.115, 0.0, 0.0, 0.0, 0.0)))
    dld = dict(zip(SCALES, (0.28, 0.23, 0.245, 0.005, 0.045, 0.0)))
    methods = [_row('teacher_hr', 'Teacher on HR', 1.0, 0.84, 0.96, 0.0798),
               _row('teacher_lr', 'Teacher on LR', 1.0, 0.02, 0.19, 0.0798)]
    methods += [_row(f'nokd@{s:g}', f'No-KD student @{s:g}', s, a, a / 2 + 0.01, GFLOPS[s])
                for s, a in nokd.items()]
    methods += [_row(f'dld@{s:g}', f'DLD student @{s:g}', s, a, a / 2 + 0.3, GFLOPS[s])
                for s, a in dld.items()]
    methods += [_row('dld_selector', 'DLD + selector', None, 0.23, 0.70, 0.0476),
                _row('dld_reread', 'DLD + selector + reread', None, 0.28, 0.68, 0.1011),
                _row('oracle', 'Oracle selector' + only, None, 0.395, None, 0.0213),
                _row('oracle_matched', "Oracle at the selector's accuracy" + only, None, 0.23,
                     None, 0.0128),
                _row('oracle_matched_reread', "Oracle at the reread's accuracy" + only, None,
                     0.28, None, 0.0146)]
    hist = {'dld_selector': {'0.6': 134, '1': 66}, 'dld_reread': {'1': 200},
            'oracle': {'0.3': 122, '0.4': 9, '0.6': 41, '0.8': 17, '1': 11}}
    return dict(methods=methods, num_images=200, scales=list(SCALES), scale_histogram=hist)


@pytest.fixture
def figures(monkeypatch):
    """The figures the plots draw, kept open to be looked at."""
    plt = report_writing._plt()
    close, drawn = plt.close, []
    monkeypatch.setattr(plt, 'close', drawn.append)
    yield drawn
    for fig in drawn:
        close(fig)


def _points(ax):
    return sorted((round(float(x), 6), round(float(y), 6)) for line in ax.get_lines()
                  for x, y in zip(line.get_xdata(), line.get_ydata()))


def test_each_panel_draws_the_rows_of_the_table(figures, tmp_path):
    report = _report()
    report_writing.plot_pareto(report, str(tmp_path / 'pareto.png'))
    axes = figures[0].axes
    for ax, key in zip(axes, ('accuracy', 'char_accuracy')):
        expected = sorted((round(r['gflops'], 6), round(100 * r[key], 6))
                          for r in report['methods'] if r[key] is not None)
        assert _points(ax) == expected


def test_each_scale_is_labelled_once_and_no_labels_overlap(figures, tmp_path):
    report_writing.plot_pareto(_report(), str(tmp_path / 'pareto.png'))
    fig = figures[0]
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        texts = [t for t in ax.texts if t.get_text()]
        # both families read each scale at the same FLOPs: one label each
        assert sorted(t.get_text() for t in texts) == sorted(f'{s:g}' for s in SCALES)
        boxes = [t.get_window_extent(renderer) for t in texts]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b)


def test_families_at_other_flops_keep_a_label_each(figures, tmp_path):
    report = _report()  # a baseline of another architecture: its own FLOPs
    for r in report['methods']:
        if r['method'].startswith('nokd@'):
            r['gflops'] *= 2
    report_writing.plot_pareto(report, str(tmp_path / 'pareto.png'))
    labels = [t.get_text() for t in figures[0].axes[0].texts]
    assert sorted(labels) == sorted(2 * [f'{s:g}' for s in SCALES])


def test_the_legend_names_every_row_drawn_in_either_panel(figures, tmp_path):
    report = _report()
    report['methods'][-5]['accuracy'] = None  # the selector: on the right panel only
    report_writing.plot_pareto(report, str(tmp_path / 'pareto.png'))
    legend = {t.get_text() for t in figures[0].legends[0].get_texts()}
    names = {r['name'] for r in report['methods'] if '@' not in r['method']}
    assert legend == names | {'No-KD student (fixed scales)', 'DLD student (fixed scales)'}


@pytest.mark.parametrize('edit', [
    lambda r: r.update(methods=[m for m in r['methods'] if m['method'] == 'dld_selector']),
    lambda r: r.update(methods=[], scale_histogram={}),
    lambda r: r.update(methods=[m for m in r['methods'] if m['scale'] in (None, 1.0)],
                       scales=[1.0], scale_histogram={'dld_selector': {'1': 200}}),
    lambda r: r.pop('scale_histogram'),
    lambda r: [m.update(char_accuracy=None) for m in r['methods']],
], ids=['one row', 'no rows', 'one scale', 'no histogram', 'no char accuracy'])
def test_thin_reports_are_drawn(edit, tmp_path):
    report = _report()
    edit(report)
    for plot in (report_writing.plot_pareto, report_writing.plot_scales):
        path = tmp_path / f'{plot.__name__}.png'
        plot(report, str(path))
        assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
