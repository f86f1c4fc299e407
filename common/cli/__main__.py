import sys

from common.cli.program import main

sys.exit(main())
