import sys

from genolm.cli import main

sys.exit(main())
