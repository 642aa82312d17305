"""`fastdigits config`: print the build and run-time configuration."""

NAME = "config"
HELP = "print version, compiler, OpenMP, threads, SIMD path and where the bundled MNIST is"


def add_arguments(parser):
    pass


def run(args) -> int:
    from .. import show_config

    from ..datasets import BUNDLED_DIR

    show_config()
    print(
        "bundled MNIST: %s (on the command line: mnist:train, mnist:test, "
        "mnist:train-labels, ...)" % BUNDLED_DIR
    )
    return 0
