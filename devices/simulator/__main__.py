import sys

from devices.simulator.serve import main

sys.exit(main())
