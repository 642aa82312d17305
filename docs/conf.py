"""Sphinx configuration for the fastdigits documentation.

Build: ``pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html``
(``.ci/run`` does this with warnings as errors).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import fastdigits  # noqa: E402  (the installed build: its C extensions are needed)

project = "fastdigits"
author = "fastdigits developers"
copyright = "2026, fastdigits developers"
release = fastdigits.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "api/generated/*.md"]

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"  # signatures carry the types; numpydoc lists the parameters
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# The walkthrough notebook is stored without outputs; the docs run it so that
# its pictures appear on the page (the test suite runs it too).
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True


html_theme = "furo"
html_title = "fastdigits %s" % release


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Members a class inherits or gets generated from scikit-learn (metadata
    routing's set_*_request, mixin methods) are documented by scikit-learn,
    in its own cross-reference vocabulary: leave them out."""
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("sklearn"):
        return True
    return None  # the default decision (autosummary passes skip=False)


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
