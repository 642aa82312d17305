"""For tests that send SIGINT to a child Python and expect KeyboardInterrupt.

A process started in the background by a non-interactive shell (``cmd &``,
as CI runners and scripts do) inherits SIGINT *ignored*, and a Python that
starts with SIGINT ignored installs no KeyboardInterrupt handler: the child
would never see the signal.  ``default_sigint`` (a ``preexec_fn``) gives the
child the default disposition, so the test checks the library, not how
pytest itself was launched.
"""

import signal


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
