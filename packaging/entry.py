"""Entry script of the PyInstaller bundle: the same `main()` as the `pdman` console
script that pip installs."""

import sys

from pdman.__main__ import main

sys.exit(main())
