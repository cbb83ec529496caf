"""Entry script of the PyInstaller bundle: the same `main()` as the `pdman` console
script that pip installs."""

from pdman.__main__ import leave, main

leave(main())
