"""Deployment: DLD models exported to ONNX and read without PyTorch.

:mod:`dld.deploy.onnx_reader` imports numpy, OpenCV and onnxruntime only;
:mod:`dld.deploy.onnx_export` (PyTorch) writes what it reads. Nothing is
imported here, so that the reader stays free of PyTorch.
"""
