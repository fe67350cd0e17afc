"""CIF archives: ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` exports.

COD and ICSD exports come as archives of CIF files.
:func:`extract_cifs` unpacks only the CIF members, refuses members that
would land outside the destination, and keeps the archive's folder
structure, so the rows of a dataset built from it are named by their
path inside the archive.

Examples
--------
>>> import tempfile, zipfile, pathlib
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(tmp / "x.zip", "w") as z:
...     z.writestr("cod/1000041.cif", "data_x")
...     z.writestr("README.txt", "not a CIF")
>>> [p.relative_to(tmp / "out").as_posix()
...  for p in extract_cifs(tmp / "x.zip", tmp / "out")]
['cod/1000041.cif']
"""

import os
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from diffpy.sgpredict.errors import InputError

__all__ = ["ARCHIVE_SUFFIXES", "is_archive", "extract_cifs"]

#: File endings read as archives.
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def is_archive(path):
    """Whether ``path`` names a file with an archive ending.

    Examples
    --------
    >>> is_archive("cod.tar.gz"), is_archive("cifs/")
    (True, False)
    """
    name = os.fspath(path).lower()
    return name.endswith(ARCHIVE_SUFFIXES)


def _safe_name(name):
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or parts[0] == "/" or ".." in parts:
        return None
    return Path(*parts)


def extract_cifs(archive, dest):
    """Unpack the CIF files of an archive into ``dest``.

    Parameters
    ----------
    archive : str or os.PathLike
        A ``.zip``, ``.tar``, ``.tar.gz`` or ``.tgz`` file.
    dest : str or os.PathLike
        Folder to unpack into (created).

    Returns
    -------
    list of Path
        The written CIF files, in archive order.

    Raises
    ------
    InputError
        When the archive is missing, unreadable or holds no CIF.
    """
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise InputError(f"{archive}: no such archive")
    written = []

    def write(name, data):
        rel = _safe_name(name)
        if rel is None or rel.suffix.lower() != ".cif":
            return
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        written.append(out)

    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    if not info.is_dir():
                        write(info.filename, z.read(info))
        else:
            with tarfile.open(archive) as t:
                for member in t:
                    if member.isfile():
                        write(member.name, t.extractfile(member).read())
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise InputError(
            f"{archive}: cannot read the archive ({exc}); give a .zip, "
            ".tar or .tar.gz of CIF files"
        ) from exc
    if not written:
        raise InputError(f"{archive}: the archive holds no .cif file")
    return written
