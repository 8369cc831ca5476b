"""Which precision --amp picks: bfloat16 only where the CPU computes it natively."""
import os
import subprocess
import sys

import pytest
import torch

from dld.utils import precision


def _cpu(monkeypatch, avx512_bf16, amx=False, onednn=True):
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: avx512_bf16,
                        raising=False)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: amx, raising=False)
    monkeypatch.setattr(precision, '_onednn_has_bf16', lambda: onednn)
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    monkeypatch.delenv('DNNL_MAX_CPU_ISA', raising=False)


def test_avx512_without_bf16_instructions_stays_float32(monkeypatch):
    # oneDNN says yes here, but emulates bfloat16 (2.4x slower than float32 on a
    # convolution with ONEDNN_MAX_CPU_ISA=AVX512_CORE).
    _cpu(monkeypatch, avx512_bf16=False)
    assert not precision.cpu_has_native_bf16()
    assert precision.fast_autocast_dtype('cpu') is None
    assert precision.fast_autocast_dtype('cuda') is torch.float16


@pytest.mark.parametrize('avx512_bf16, amx', [(True, False), (False, True)])
def test_avx512_bf16_or_amx_computes_bfloat16(monkeypatch, avx512_bf16, amx):
    _cpu(monkeypatch, avx512_bf16, amx)
    assert precision.cpu_has_native_bf16()
    assert precision.fast_autocast_dtype('cpu') is torch.bfloat16


@pytest.mark.parametrize('var', ['ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA'])
def test_a_onednn_isa_cap_below_bf16_counts(monkeypatch, var):
    _cpu(monkeypatch, avx512_bf16=True)
    monkeypatch.setenv(var, 'avx512_core')
    assert not precision.cpu_has_native_bf16()
    monkeypatch.setenv(var, 'AVX512_CORE_BF16')
    assert precision.cpu_has_native_bf16()


def test_without_onednn_bfloat16_there_is_none(monkeypatch):
    _cpu(monkeypatch, avx512_bf16=True, onednn=False)
    assert not precision.cpu_has_native_bf16()


@pytest.mark.skipif(not os.path.exists('/proc/cpuinfo'), reason='reads the Linux CPU flags')
def test_the_answer_on_this_machine_follows_its_cpu_flags():
    with open('/proc/cpuinfo') as f:
        flags = next((line.split(':', 1)[1].split() for line in f
                      if line.startswith('flags')), [])
    has = 'avx512_bf16' in flags or 'amx_bf16' in flags
    env = {k: v for k, v in os.environ.items() if k not in ('ONEDNN_MAX_CPU_ISA',
                                                             'DNNL_MAX_CPU_ISA')}
    code = 'from dld.utils import precision; print(precision.cpu_has_native_bf16())'
    for cap, expected in ((None, has), ('AVX2', False)):
        run_env = dict(env, **({'ONEDNN_MAX_CPU_ISA': cap} if cap else {}))
        out = subprocess.run([sys.executable, '-c', code], env=run_env, check=True,
                             capture_output=True, text=True).stdout.strip()
        assert out == str(expected), (cap, flags)
