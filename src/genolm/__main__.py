import os
import sys

# A fork server (genolm.forkserver) runs the command when GENOLM_FORKSERVER names its directory: decided on the
# standard library alone, before anything heavy is imported; None means run it here as usual.
if os.environ.get("GENOLM_FORKSERVER"):
    from genolm.forkserver import run_through_server, should_use_server

    if should_use_server(sys.argv[1:]):
        status = run_through_server(sys.argv[1:])
        if status is not None:
            sys.exit(status)

from genolm.runtime import preload_allocator  # noqa: E402

# Before anything else is imported: a training command re-executes itself with jemalloc preloaded (genolm.runtime).
preload_allocator(next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None))

if sys.argv[1:2] == ["forkserver"]:  # internal: the server a client started (genolm.forkserver)
    from genolm.forkserver import server_main

    sys.exit(server_main(sys.argv[2:]))

from genolm.cli import main  # noqa: E402 - after the re-execution, which would discard the import

sys.exit(main())
