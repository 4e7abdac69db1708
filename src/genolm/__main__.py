import sys

from genolm.runtime import preload_allocator

# Before anything else is imported: a training command re-executes itself with jemalloc preloaded (genolm.runtime).
preload_allocator(next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None))

from genolm.cli import main  # noqa: E402 - after the re-execution, which would discard the import

sys.exit(main())
