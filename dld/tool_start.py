"""What every tool sets up first, before it loads torch and MMEngine.

A tool imports this module before anything else; light itself (the
standard library's modules only), it is in place at once:

    import dld.tool_start  # noqa: F401  # isort: skip  (first: ...)

* A Ctrl-C while the tool loads (seconds, more on a busy machine) or reads
  its config printed 10 to 65 lines of import internals, once per process
  under the launcher: it is one line now. The interrupt still unwinds as
  before (``finally`` blocks and clean-up run, the status is the shell's
  130); only its report at the top changes. A stop the tool handles itself
  (training, testing, reading) says more.
* Output the console cannot encode (a Chinese plate's text on a Windows
  console, or a file of its code page: ``infer.py ... > readings.tsv``)
  was a UnicodeEncodeError that ended the run, its readings lost: such a
  character is written escaped (``\\u4eac``) instead. Files the tools write
  themselves are UTF-8 and keep every character.
* A package DLD needs that is not installed (a checkout updated with
  ``git pull`` whose new dependency the environment lacks: scipy) was a
  traceback ending in ``No module named 'scipy'``: it is one line saying
  what to install (``DLD_TRACEBACK=1``: the traceback).
"""
import codecs
import importlib.util
import os
import os.path as osp
import sys

# imported here: a module first imported while the hook runs made the
# process end with status 1, not by the signal (CPython's flag for an
# uncaught interrupt is reset)
from dld.dist_launch import keep_for_launcher  # light: the standard library


def stop_line(interrupt: KeyboardInterrupt, started: bool = False) -> str:
    """``train.py: stopped by Ctrl-C as it started.`` (``started``: ``...
    stopped by Ctrl-C.``, a tool that says no more of where it was); the
    signal's name for a SIGTERM or SIGHUP that the tool's stop handling
    raised as one."""
    name = interrupt.args[0] if interrupt.args and str(interrupt.args[0]).startswith('SIG') \
        else 'Ctrl-C'
    return (f'{osp.basename(sys.argv[0]) or "python"}: stopped by {name}'
            + ('.' if started else ' as it started.'))


def _started(traceback) -> bool:
    """Whether the interrupt came once the tool ran a function of its own
    (its main), not as it loaded: a tool that renders for minutes said it
    was stopped as it started."""
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_globals.get('__name__') == '__main__' and frame.f_code.co_name != '<module>':
            return True
        traceback = traceback.tb_next
    return False


#: The packages DLD imports, by import name, and what pip installs them as
#: (setup.py's install_requires and its 'deploy' extra; a test holds them equal).
DEPENDENCIES = {
    'torch': 'torch', 'mmengine': 'mmengine', 'mmcv': 'mmcv-lite',
    'cv2': 'opencv-python-headless', 'numpy': 'numpy', 'fvcore': 'fvcore', 'yaml': 'pyyaml',
    'editdistance': 'editdistance', 'tqdm': 'tqdm', 'matplotlib': 'matplotlib',
    'PIL': 'Pillow', 'tabulate': 'tabulate', 'scipy': 'scipy',
    'onnx': 'onnx', 'onnxscript': 'onnxscript', 'onnxruntime': 'onnxruntime'}


def _installed(top: str) -> bool:
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _version(top: str) -> str:
    try:
        import importlib.metadata  # here: 35 ms that a tool that runs well need not spend
        return 'version ' + importlib.metadata.version(DEPENDENCIES[top])
    except Exception:  # noqa: BLE001 - a version unknown says less, not nothing
        return 'version unknown'


def missing_dependency_line(err: ModuleNotFoundError) -> str:
    """``infer.py: scipy is not installed here, and DLD needs it: ...`` for a
    package of :data:`DEPENDENCIES`; '' for any other module (a project's,
    a part of DLD), whose traceback says where it was imported."""
    name = getattr(err, 'name', None) or ''
    top = name.split('.')[0]
    if top not in DEPENDENCIES:
        return ''
    tool = osp.basename(sys.argv[0]) or 'python'
    if name != top and _installed(top):
        # the package is there, a part of it is not: another version than
        # DLD's (torch.onnx._internal.x of an older torch), not "not installed"
        return (f'{tool}: {name} is not in the {top} installed here ({_version(top)}): '
                f'DLD needs a version of {DEPENDENCIES[top]} that has it (setup.py says '
                f'which): install DLD again, `pip install -e .` from the checkout '
                f'(`pip install -e ".[deploy]"` for ONNX)')
    return (f"{tool}: {top} is not installed here, and DLD needs it (since an update, if "
            f'this checkout was pulled): install DLD again, `pip install -e .` from the '
            f'checkout (`pip install -e ".[deploy]"` for ONNX), or `pip install '
            f'{DEPENDENCIES[top]}`')


def _report(kind, value, traceback) -> None:
    if issubclass(kind, ModuleNotFoundError) and \
            os.environ.get('DLD_TRACEBACK', '') in ('', '0'):
        line = missing_dependency_line(value)
        if line:
            print(line, file=sys.stderr, flush=True)
            return
    if issubclass(kind, BrokenPipeError) and \
            os.environ.get('DLD_TRACEBACK', '') in ('', '0'):
        # `get_flops.py ... | head`: the reader wants no more. Quiet, as
        # tools/infer.py is (the status stays 1); stdout to the null device, or
        # Python's flush of it at exit said the same error once more
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout closed or replaced (no file descriptor)
            pass
        return
    if not issubclass(kind, KeyboardInterrupt) or \
            os.environ.get('DLD_TRACEBACK', '') not in ('', '0'):  # where it was, asked for
        _previous_hook(kind, value, traceback)
        return
    line = stop_line(value, _started(traceback))
    if not keep_for_launcher(line):  # under the launcher, its first process says it
        print(line, file=sys.stderr, flush=True)


def _escape_keeping_undecodable_bytes(err: UnicodeError):
    """``surrogateescape`` for the bytes of a name that did not decode
    (written back as they were), ``backslashreplace`` for any other
    character the encoding lacks; a run of both (a name's byte beside a
    label's 'Ü') is handled a part at a time, the encoder resuming after
    each."""
    if not isinstance(err, UnicodeEncodeError):
        return codecs.lookup_error('backslashreplace')(err)
    run = err.object[err.start:err.end]
    escaped = [0xDC80 <= ord(c) <= 0xDCFF for c in run]
    n = next((i for i, e in enumerate(escaped) if e != escaped[0]), len(run))
    part = UnicodeEncodeError(err.encoding, err.object, err.start, err.start + n, err.reason)
    return codecs.lookup_error('surrogateescape' if escaped[0] else 'backslashreplace')(part)


codecs.register_error('dld_escape', _escape_keeping_undecodable_bytes)


def escape_what_the_console_cannot_encode() -> None:
    """stdout and stderr write a character their encoding lacks as an
    escape (stderr does so already). The C locale's stdout, where Python's
    UTF-8 mode is off (``PYTHONUTF8=0``), is ASCII with ``surrogateescape``,
    which escapes only the bytes of undecodable names: a label's 'Ü' was a
    ``--- Logging error ---`` traceback and its warning was lost."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, 'reconfigure', None)  # None: replaced (a capture)
        if reconfigure is None:
            continue
        if stream.errors == 'strict':
            reconfigure(errors='backslashreplace')
        elif stream.errors == 'surrogateescape':
            reconfigure(errors='dld_escape')


def _imported_by_the_program() -> bool:
    """Whether the module importing this one is the program itself
    (``__main__``): a tool run as ``python tools/train.py``. Loaded as a
    module (a notebook, the tests) or imported again as ``__mp_main__`` in a
    worker that ``spawn`` starts (macOS, Windows), it sets nothing up: its
    hook replaced the session's for good, and a Ctrl-C as the loader
    workers started said the tool's line once more per worker."""
    frame = sys._getframe(2)  # 0: here, 1: this module, 2 on: the import machinery
    while frame is not None and frame.f_code.co_filename.startswith('<frozen importlib'):
        frame = frame.f_back
    return frame is not None and frame.f_globals.get('__name__') == '__main__'


if _imported_by_the_program():
    escape_what_the_console_cannot_encode()
    _previous_hook = sys.excepthook
    sys.excepthook = _report
