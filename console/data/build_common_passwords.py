"""Build console/data/common-passwords.txt.gz, the list of common and leaked passwords that
console/passwords.py refuses (see NOTICE for the sources and their licences).

    pip download --no-deps -d /tmp/pw django==5.2.19 zxcvbn==4.5.0
    python console/data/build_common_passwords.py /tmp/pw/django-5.2.19-py3-none-any.whl \\
        /tmp/pw/zxcvbn-4.5.0-py2.py3-none-any.whl

Nothing is downloaded at run time: the console reads only the bundled file.
"""

from __future__ import annotations

import gzip
import io
import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "common-passwords.txt.gz"
# Passwords seen on 1300 screens and documents that no list of the world's passwords holds.
LOCAL = ["demo1300", "password1300", "1300hotline", "hotline1300", "admin1300", "1300admin"]


def _django(wheel: str) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read("django/contrib/auth/common-passwords.txt.gz")
    return gzip.decompress(raw).decode().split()


def _zxcvbn(wheel: str) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("zxcvbn/frequency_lists.py").decode()
    match = re.search(r'"passwords":\s*"([^"]*)"', source)
    if match is None:
        raise SystemExit("zxcvbn: no passwords list found")
    return match.group(1).split(",")


def main(django_wheel: str, zxcvbn_wheel: str) -> None:
    """Merge both lists (lower-cased, first occurrence kept) and write the gzip file."""
    seen: dict[str, None] = {}
    for word in LOCAL + _django(django_wheel) + _zxcvbn(zxcvbn_wheel):
        word = word.strip().lower()
        if word:
            seen.setdefault(word, None)
    buf = io.BytesIO()
    # NOTE: mtime=0 so the same sources give the same bytes.
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write("\n".join(seen).encode() + b"\n")
    OUT.write_bytes(buf.getvalue())
    print(f"{OUT}: {len(seen)} passwords, {len(buf.getvalue())} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
