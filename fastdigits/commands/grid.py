"""`fastdigits grid FILE OUT.png`: a PNG montage of digits, labels above them."""

from __future__ import annotations

from ._view import add_image_arguments, check_output, read_selection

NAME = "grid"
HELP = "write digits from an IDX image file as a PNG grid (needs Pillow)"


def add_arguments(parser):
    add_image_arguments(parser, "default: 0:100")
    parser.add_argument("out", metavar="OUT.png", help="PNG file to write (name ending in .png)")
    parser.add_argument("--ncols", type=int, default=10, help="images per row (default 10)")
    parser.add_argument("--scale", type=int, default=4, help="pixel enlargement factor (default 4)")


def run(args) -> int:
    from ..cli import CommandError
    from ..png import to_png

    if args.ncols < 1:
        raise CommandError("bad --ncols %d: must be >= 1" % args.ncols)
    if not 1 <= args.scale <= 64:
        raise CommandError("bad --scale %d: must be 1..64" % args.scale)
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise CommandError("writing PNG needs Pillow: pip install fastdigits[png]") from None
    check_output("OUT.png", args.out, ".png")
    images, a, b, labels = read_selection(args, 100)
    try:
        to_png(images, args.out, labels=labels, ncols=args.ncols, scale=args.scale)
    except ValueError as exc:  # e.g. a montage too large
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError("cannot write %s: %s" % (args.out, exc.strerror or exc)) from exc
    print(
        "wrote %s: %d image%s (%d..%d)%s"
        % (
            args.out,
            b - a,
            "" if b - a == 1 else "s",
            a,
            b - 1,
            " with labels" if labels is not None else "",
        )
    )
    return 0
