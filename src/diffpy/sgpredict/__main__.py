"""Run the ``diffpy.sgpredict`` command as ``python -m diffpy.sgpredict``."""

from diffpy.sgpredict.sgpredictapp import main

if __name__ == "__main__":
    raise SystemExit(main())
