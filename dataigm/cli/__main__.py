import sys

from dataigm.cli import main

sys.exit(main())
