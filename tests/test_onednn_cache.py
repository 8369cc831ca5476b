"""``import dld`` enlarges oneDNN's kernel cache, which DLD's varying sub-batches need."""
import os
import subprocess
import sys

import pytest
import torch

# Convolutions over more distinct input shapes than oneDNN's default cache
# (1024 kernels) holds, then the first shapes again: a cache that holds them
# all compiles nothing on the second pass.
SCRIPT = r'''
import os, sys
import torch
import dld
print('capacity', os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'], flush=True)
conv = torch.nn.Conv2d(4, 4, 3, padding=1)
shapes = [(b, h) for b in range(1, 25) for h in range(4, 54)]
with torch.no_grad():
    for b, h in shapes:
        conv(torch.randn(b, 4, h, 8))
    print('REVISIT', flush=True)
    for b, h in shapes[:200]:
        conv(torch.randn(b, 4, h, 8))
'''


def _revisit_compilations(env_capacity=None):
    env = dict(os.environ, ONEDNN_VERBOSE='profile_create')
    env.pop('ONEDNN_PRIMITIVE_CACHE_CAPACITY', None)
    if env_capacity is not None:
        env['ONEDNN_PRIMITIVE_CACHE_CAPACITY'] = str(env_capacity)
    out = subprocess.run([sys.executable, '-c', SCRIPT], env=env, capture_output=True,
                         text=True, check=True).stdout
    capacity = out.split('capacity ', 1)[1].split()[0]
    revisit = out.split('REVISIT', 1)[1]
    return int(capacity), revisit.count('cache_miss')


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(),
                    reason='CPU convolutions do not run on oneDNN here')
@pytest.mark.slow
def test_import_dld_keeps_the_kernels_of_every_shape():
    import dld
    capacity, misses = _revisit_compilations()
    assert capacity == dld.ONEDNN_PRIMITIVE_CACHE_CAPACITY
    assert misses == 0


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(),
                    reason='CPU convolutions do not run on oneDNN here')
@pytest.mark.slow
def test_a_capacity_the_user_set_is_kept():
    capacity, misses = _revisit_compilations(env_capacity=1024)
    assert capacity == 1024
    assert misses > 0  # the default cache recompiles: what the larger one avoids
