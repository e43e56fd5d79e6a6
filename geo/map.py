"""folium rendering: the supervisors' live map and static maps for printing.

Every JS/CSS asset is served from /static/vendor: folium's CDN defaults are replaced, so the only
outside URL a rendered map may hold is the configured tile source. Nothing inline but the map
script folium generates (console/security.py: the page puts it in a <script> with the response's
CSP nonce); folium's inline styles are static/css/map.css.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import folium
from branca.element import CssLink, Figure, JavascriptLink
from folium.plugins import HeatMap, MarkerCluster
from markupsafe import Markup, escape

from geo import gazetteer

THAILAND_CENTER = (13.7, 100.9)
PRIORITY_COLORS = {"P1": "#c0152f", "P2": "#e66b00", "P3": "#c9a400", "P4": "#3c7d3c"}


@dataclass(frozen=True)
class RenderedMap:
    """Pieces of a folium map to place inside a console page."""

    header: Markup  # <link> and <script src> tags for the page's head: files only
    html: Markup
    script: Markup  # the generated map code, for a <script> carrying the CSP nonce
    name: str  # the JS variable holding the Leaflet map
    cluster: str  # the JS variable of the incident cluster layer ('' when none)


@dataclass(frozen=True)
class MapPoint:
    """An incident (or team) to draw on a static map."""

    lat: float
    lon: float
    label: str
    priority: str = "P3"


def _localize(element, static_url: str, js: Sequence[tuple[str, str]],
              css: Sequence[tuple[str, str]] = ()) -> None:
    """Point an element's JS/CSS at locally served copies."""
    element.default_js = [(name, f"{static_url}{path}") for name, path in js]
    element.default_css = [(name, f"{static_url}{path}") for name, path in css]


def _assets(root: Figure, static_url: str) -> Markup:
    """The rendered map's stylesheets and scripts as head tags, and static/css/map.css.

    folium's own head also holds <style> blocks (map.css has their rules), a viewport that
    forbids zooming, and an L_NO_TOUCH script that runs after Leaflet has read it: all left out,
    so a Content-Security-Policy without 'unsafe-inline' loads the map.
    """
    tags = [child.render() for child in root.header._children.values()
            if isinstance(child, JavascriptLink | CssLink)]
    # NOTE: static_url is static/vendor/; map.css is ours, in its sibling static/css/.
    css_dir = static_url.rstrip("/").rpartition("/")[0]
    tags.append(f'<link rel="stylesheet" href="{escape(css_dir)}/css/map.css"/>')
    return Markup("\n".join(tags))


def _request_nonce() -> str | None:
    """The CSP nonce of the response being built, when rendering inside a request."""
    from flask import has_request_context

    if not has_request_context():
        return None
    from console.security import csp_nonce

    return csp_nonce()


# Leaflet writes its scale bar in "km"/"mi": ours says "กม."/"ม." in Thai (metric only). Runs
# before the map is made (first in the map script), so the control is built with it.
_SCALE_JS = """L.Control.Scale.prototype.options.imperial = false;
L.Control.Scale.prototype._updateMetric = function (maxMeters) {
  var meters = this._getRoundNum(maxMeters);
  var text = meters < 1000 ? __M__.replace("%(num)s", meters)
                           : __KM__.replace("%(num)s", meters / 1000);
  this._updateScale(this._mScale, text, meters / maxMeters);
};
"""


def _thai() -> bool:
    try:
        from flask_babel import get_locale

        return str(get_locale() or "th").startswith("th")
    except Exception:  # noqa: BLE001  (no request: a script or the bench)
        return True


def _scale_script() -> str:
    import json

    from flask_babel import gettext

    try:
        metres, kilometres = gettext("%(num)s m"), gettext("%(num)s km")
    except Exception:  # noqa: BLE001  (no request: a script or the bench)
        metres, kilometres = "%(num)s ม.", "%(num)s กม."
    return _SCALE_JS.replace("__M__", json.dumps(metres)).replace("__KM__",
                                                                    json.dumps(kilometres))


def _base_map(*, tile_url: str, attribution: str, static_url: str, center, zoom: int,
              province_code: str | None, interactive: bool = True) -> folium.Map:
    """A map with local Leaflet, the configured tiles (or none) and province labels."""
    fmap = folium.Map(location=center, zoom_start=zoom, tiles=None, prefer_canvas=True,
                      control_scale=True, zoom_control=interactive, maxZoom=19)
    fmap.get_root().script.add_child(folium.Element(_scale_script()), name="scale_units",
                                     index=0)
    _localize(fmap, static_url, [("leaflet", "leaflet/leaflet.js")],
              [("leaflet_css", "leaflet/leaflet.css")])
    if tile_url:
        # NOTE: the pages send no referrer off-site (Referrer-Policy: same-origin); tile
        # servers such as OpenStreetMap's refuse requests without one, so tiles get the origin.
        folium.TileLayer(tiles=tile_url, attr=attribution or "map tiles", max_zoom=19,
                         referrer_policy="strict-origin").add_to(fmap)
    thai = _thai()
    for place in gazetteer.provinces():
        if place.lat is None or (province_code and place.code != province_code):
            continue
        name = escape(place.name_th if thai else place.name_en)
        folium.Marker(
            location=(place.lat, place.lon),
            icon=folium.DivIcon(html=f'<div class="province-label">{name}</div>',
                                class_name="province-label-icon"),
            interactive=False,
        ).add_to(fmap)
    return fmap


def _center(province_code: str | None) -> tuple[tuple[float, float], int]:
    province = gazetteer.get(province_code) if province_code else None
    if province is not None and province.lat is not None:
        return (province.lat, province.lon), 9
    return THAILAND_CENTER, 6


def live_map(
    *, tile_url: str, attribution: str, province_code: str | None, static_url: str,
    heat: Iterable[tuple[float, float]] = (),
) -> RenderedMap:
    """The live map: incident clusters (filled by the page's JS), a 30-day heat layer, labels."""
    center, zoom = _center(province_code)
    fmap = _base_map(tile_url=tile_url, attribution=attribution, static_url=static_url,
                     center=center, zoom=zoom, province_code=province_code)
    heat = [(lat, lon) for lat, lon in heat]
    if heat:
        layer = HeatMap(heat, name="heat", radius=18, blur=14, min_opacity=0.3)
        _localize(layer, static_url, [("leaflet-heat.js", "leaflet.heat/leaflet-heat.js")])
        layer.add_to(fmap)
    cluster = MarkerCluster(name="incidents", options={"disableClusteringAtZoom": 13})
    _localize(cluster, static_url,
              [("markerclusterjs", "leaflet.markercluster/leaflet.markercluster.js")],
              [("markerclustercss", "leaflet.markercluster/MarkerCluster.css"),
               ("markerclusterdefaultcss", "leaflet.markercluster/MarkerCluster.Default.css")])
    cluster.add_to(fmap)
    root = fmap.get_root()
    root.render()
    return RenderedMap(
        header=_assets(root, static_url),
        html=Markup(root.html.render()),
        script=Markup(root.script.render()),
        name=fmap.get_name(),
        cluster=cluster.get_name(),
    )


def print_map(
    *, tile_url: str, attribution: str, static_url: str, points: Sequence[MapPoint],
    path: Sequence[tuple[float, float]] = (), province_code: str | None = None,
    nonce: str | None = None,
) -> str:
    """A static HTML map for printing: incidents and a team's path.

    Its one inline script carries `nonce` (default: the current request's CSP nonce).
    """
    coords = [(p.lat, p.lon) for p in points] + list(path)
    center, zoom = _center(province_code)
    fmap = _base_map(tile_url=tile_url, attribution=attribution, static_url=static_url,
                     center=center, zoom=zoom, province_code=province_code, interactive=False)
    for point in points:
        folium.CircleMarker(
            location=(point.lat, point.lon), radius=8, weight=2, fill=True, fill_opacity=0.8,
            color=PRIORITY_COLORS.get(point.priority, "#333"),
            fill_color=PRIORITY_COLORS.get(point.priority, "#333"),
            tooltip=folium.Tooltip(str(escape(point.label)), permanent=len(points) <= 30),
        ).add_to(fmap)
    if len(path) >= 2:
        folium.PolyLine(list(path), color="#1a4fa0", weight=4, opacity=0.8).add_to(fmap)
    if path:
        folium.CircleMarker(location=path[0], radius=5, color="#1a4fa0", fill=True).add_to(fmap)
    if coords:
        lats = [c[0] for c in coords]
        lons = [c[1] for c in coords]
        pad = 0.01
        fmap.fit_bounds([(min(lats) - pad, min(lons) - pad), (max(lats) + pad, max(lons) + pad)])
    root = fmap.get_root()
    root.render()
    nonce = nonce or _request_nonce()
    script_tag = f'<script nonce="{escape(nonce)}">' if nonce else "<script>"
    return (
        '<!doctype html>\n<html class="print-map">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{_assets(root, static_url)}\n</head>\n<body>\n{root.html.render()}\n"
        f"{script_tag}{root.script.render()}</script>\n</body>\n</html>\n"
    )
