"""folium rendering of the supervisors' live map, with every asset served locally."""

from __future__ import annotations

from dataclasses import dataclass

import folium
from markupsafe import Markup

from geo import gazetteer

THAILAND_CENTER = (13.7, 100.9)


@dataclass(frozen=True)
class RenderedMap:
    """Pieces of a folium map to place inside a console page."""

    header: Markup
    html: Markup
    script: Markup
    name: str  # the JS variable holding the Leaflet map


def live_map(
    *, tile_url: str, attribution: str, province_code: str | None, static_url: str
) -> RenderedMap:
    """The live map: tiles when configured, else a plain background with province labels."""
    province = gazetteer.get(province_code) if province_code else None
    if province is not None and province.lat is not None:
        center, zoom = (province.lat, province.lon), 9
    else:
        center, zoom = THAILAND_CENTER, 6
    fmap = folium.Map(location=center, zoom_start=zoom, tiles=None, prefer_canvas=True,
                      control_scale=True)
    # NOTE: folium's defaults load Leaflet, jQuery and Bootstrap from CDNs; the console works
    # offline, so only the locally served Leaflet is kept.
    fmap.default_js = [("leaflet", f"{static_url}leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{static_url}leaflet/leaflet.css")]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=attribution or "map tiles", max_zoom=19).add_to(fmap)
    for place in gazetteer.provinces():
        if place.lat is None or (province is not None and place.code != province.code):
            continue
        folium.Marker(
            location=(place.lat, place.lon),
            icon=folium.DivIcon(
                html=f'<div class="province-label">{place.name_th}</div>',
                class_name="province-label-icon",
            ),
            interactive=False,
        ).add_to(fmap)
    root = fmap.get_root()
    root.render()
    return RenderedMap(
        header=Markup(root.header.render()),
        html=Markup(root.html.render()),
        script=Markup(root.script.render()),
        name=fmap.get_name(),
    )
