"""`fastdigits show FILE`: digits in the terminal, with their labels."""

from __future__ import annotations

import shutil

from ._view import add_image_arguments, quiet_broken_pipe, read_selection

NAME = "show"
HELP = "render digits from an IDX image file in the terminal"


def add_arguments(parser):
    add_image_arguments(parser, "default: as many as fit one row")
    style = parser.add_mutually_exclusive_group()
    style.add_argument(
        "--blocks",
        dest="mode",
        action="store_const",
        const="blocks",
        help="Unicode half blocks, two pixel rows per line (default)",
    )
    style.add_argument(
        "--ascii",
        dest="mode",
        action="store_const",
        const="ascii",
        help="plain ASCII ramp, one character per pixel",
    )
    style.add_argument(
        "--numbers",
        dest="mode",
        action="store_const",
        const="numbers",
        help="the raw pixel values in aligned columns",
    )
    parser.set_defaults(mode="blocks")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="grey shades with terminal colours for --blocks "
        "(auto: when writing to a terminal and NO_COLOR is unset)",
    )
    parser.add_argument(
        "--width",
        type=int,
        metavar="COLS",
        help="text columns to fill (default: the terminal's width)",
    )


def run(args) -> int:
    from ..cli import CommandError
    from ..viz import GAP, show

    if args.width is not None and args.width < 1:
        raise CommandError("bad --width %d: must be >= 1" % args.width)
    width = args.width or shutil.get_terminal_size(fallback=(80, 24)).columns

    def per_row(images):
        return 1 if args.mode == "numbers" else max(1, (width + GAP) // (images.shape[2] + GAP))

    images, a, _, labels = read_selection(args, per_row)
    color = {"auto": None, "always": True, "never": False}[args.color]
    return quiet_broken_pipe(
        show, images, labels, mode=args.mode, color=color, width=width, start=a
    )
