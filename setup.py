"""Installs the ``dld`` package (Dynamic Low-Resolution Distillation)."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'dld', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_readme() -> str:
    with open(osp.join(osp.dirname(__file__), 'README.md'), encoding='utf-8') as f:
        return f.read()


# onnxscript 0.6 is the first with the exporter API torch >= 2.11 imports
DEPLOY = ['onnx>=1.16', 'onnxscript>=0.6', 'onnxruntime>=1.17']

setup(
    name='dld',
    version=read_version(),
    description='Dynamic Low-Resolution Distillation for text and licence-plate '
    'recognition, on PyTorch and MMEngine',
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    install_requires=[
        # A range that admits the local CPU wheel (2.13.0); an open upper
        # bound would pull a multi-GB CUDA build on a fresh machine. 2.6 is
        # the first whose weights-only loading takes the (function, name)
        # pairs of dld/engine/checkpoint.py's allow-list.
        'torch>=2.6,<2.15',
        'mmengine>=0.10.4,<0.11',
        # Provides the `mmcv` package without compiled ops; full mmcv has no
        # wheel for current torch.
        'mmcv-lite>=2.0.0,<2.3',
        'opencv-python-headless>=4.7',
        'numpy>=1.23',
        'fvcore>=0.1.5',
        'pyyaml>=6.0',
        'editdistance>=0.6',
        'tqdm>=4.60',
        'matplotlib>=3.6',
        'Pillow>=9.0',  # image sizes from headers (max_pixels), text drawn beyond ASCII
        'tabulate>=0.9',
        'scipy>=1.10',  # the statistical tests (McNemar's binomial, Mann-Whitney, chi-square)
    ],
    extras_require={
        # tools/deployment/export_onnx.py (torch's dynamo exporter) and the
        # ONNX Runtime reader, dld/deploy/onnx_reader.py
        'deploy': DEPLOY,
        # vermin: tests/test_python_versions.py holds the code to python_requires
        'dev': ['pytest>=7.0', 'pytest-xdist>=3.0', 'ruff>=0.4', 'vermin>=1.6'] + DEPLOY,
    },
    license='Apache-2.0',
)
