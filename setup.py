"""Declares the cython extension modules; everything else lives in pyproject.toml."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension("fastpath.wire._checksum", ["fastpath/wire/_checksum.pyx"], include_dirs=[numpy.get_include()]),
    Extension("fastpath.wire._codec", ["fastpath/wire/_codec.pyx"], include_dirs=[numpy.get_include()]),
    Extension("fastpath.wire._pcap", ["fastpath/wire/_pcap.pyx"], include_dirs=[numpy.get_include()]),
]

setup(ext_modules=cythonize(extensions, language_level=3, compiler_directives={"boundscheck": False, "wraparound": False}))
