"""`fastdigits config`: print the build and run-time configuration."""
NAME = "config"
HELP = "print version, compiler, OpenMP, threads and SIMD path"


def add_arguments(parser):
    pass


def run(args) -> int:
    from .. import show_config

    show_config()
    return 0
